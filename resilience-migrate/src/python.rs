//! Python source as the mapping reads it: expressions, modules, and names
//! resolved across the scanned tree.

pub mod expr;
pub mod module;
pub mod resolve;
