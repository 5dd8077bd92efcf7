//! The shared-cache operations: read an entry, take or follow a key's
//! refresh lease, write a loaded value.
//!
//! Each runs on the fleet thread, each command within the operation bound;
//! an async caller's first read of an entry runs on its own runtime
//! ([`near`](super::near)).
//!
//! Ages come from one clock every replica agrees on: Redis's. A value is
//! written stamped with Redis's `TIME` (by the write's script, not the
//! writer's clock), and every read carries Redis's `TIME` beside the bytes,
//! so an entry's age is a difference of two readings of one clock: replicas
//! whose clocks differ, a clock stepped by NTP, a suspended host, or a host
//! booted after the entry was loaded all see the same age.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::Fleet;
use super::codec;
use super::link::{self, bounded};
use super::near::Read;
use crate::clock::millis;

/// A Redis operation in progress on the fleet thread.
type Pending<T> = std::pin::Pin<Box<dyn Future<Output = redis::RedisResult<T>> + Send>>;

/// A Redis operation, made before it is known whether a sync or an async
/// caller runs it.
type Op<T> = Box<dyn FnOnce(ConnectionManager, Duration) -> Pending<T> + Send>;

/// How often an instance waiting on another's refresh looks for its value.
const FOLLOW_EVERY: Duration = Duration::from_millis(20);

/// Where one key of one shared cache lives in Redis.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    pub(crate) entry: String,
    pub(crate) lease: String,
}

/// An entry as read, and Redis's clock when it was read (Unix
/// milliseconds): its age is `at - ` its load time, both Redis's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) bytes: Vec<u8>,
    pub(crate) at: u64,
}

/// What [`Fleet::acquire`] found.
#[derive(Debug)]
pub(crate) enum Acquired {
    /// An entry younger than `maxage`: serve it, call nothing.
    Fresh(Seen),
    /// This instance holds the key's refresh lease: call the upstream, then
    /// [`Fleet::publish`] a success. The older entry, if any, is the stale
    /// fallback. Dropping the [`Lease`] without publishing gives it back.
    Lead(Option<Seen>, Lease),
    /// Another instance held the lease and no fresh value came in time (or
    /// it gave up): serve the stale entry, if any, or call the upstream.
    Alone(Option<Seen>),
    /// Redis did not answer: go on with local state.
    Unavailable,
}

/// A key's refresh lease, held by this instance. Dropped, it is given back
/// (not waited for: a detached operation on the fleet's thread), so a
/// refresh whose caller gave up — its future dropped by a timeout or a
/// client gone — frees the key at once instead of after its time to live.
///
/// It is made on the fleet's thread before the lease is asked for, so a
/// caller gone before the answer comes back gives it back too: the
/// answer, lease included, is dropped there.
///
/// Its token is the flight's own, not the connection's: another flight of
/// the same key on the same connection (a second cache built by hand for
/// one function) never releases it.
#[derive(Debug)]
pub(crate) struct Lease {
    /// The fleet and the lease's key, while it is to be given back.
    held: Option<(Fleet, Box<str>)>,
    token: u64,
}

impl Lease {
    /// The lease was released with the write of a loaded value.
    pub(crate) fn published(mut self) {
        self.held = None;
    }

    /// The token the lease holds, while it is held.
    pub(crate) fn token(&self) -> Option<u64> {
        self.held.as_ref().map(|_| self.token)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((fleet, key)) = self.held.take() {
            fleet.give_up(key, self.token);
        }
    }
}

impl Fleet {
    /// The address of a key of a shared cache.
    pub(crate) fn address(&self, function: &str, fingerprint: &str, digest: &str) -> Address {
        let keys = &self.inner.keys;
        Address {
            entry: keys.cache_entry(function, fingerprint, digest),
            lease: keys.cache_lease(function, fingerprint, digest),
        }
    }

    /// Reads the key: an entry younger than `maxage` (milliseconds, on
    /// Redis's clock) is served; else takes the refresh lease, or waits (at
    /// most `refresh_wait`) for the instance that holds it.
    ///
    /// The first read runs on the caller's runtime when it can (see
    /// [`near`](super::near)): a fresh entry is then served with no
    /// hand-over to the fleet thread.
    pub(crate) async fn acquire(&self, address: &Address, maxage: u64) -> Acquired {
        let link = &self.inner.link;
        let limit = self.inner.options.max_entry_bytes_value();
        let pipe = read_pipe(&address.entry, limit);
        let read = match link.read_near("cache read", &pipe).await {
            Read::Down => return Acquired::Unavailable,
            Read::Far => None,
            Read::Answered(answer) => match seen_of(answer) {
                Some(seen) if is_fresh(&seen, maxage) => return Acquired::Fresh(seen),
                seen => Some(seen),
            },
        };
        let (op, budget) = self.acquire_op(address, maxage, read);
        link.run("cache read", budget, op)
            .await
            .unwrap_or(Acquired::Unavailable)
    }

    /// [`acquire`](Self::acquire) for a sync caller.
    pub(crate) fn acquire_blocking(&self, address: &Address, maxage: u64) -> Acquired {
        let (op, budget) = self.acquire_op(address, maxage, None);
        let link = &self.inner.link;
        link.run_blocking("cache read", budget, op)
            .unwrap_or(Acquired::Unavailable)
    }

    /// Writes a loaded value (time to live `ttl`) and releases the lease
    /// of token `lease`, if the flight holds one; whether Redis took both.
    pub(crate) async fn publish(
        &self,
        address: &Address,
        entry: Vec<u8>,
        ttl: Duration,
        lease: Option<u64>,
    ) -> bool {
        let op = self.publish_op(address, entry, ttl, lease);
        let budget = self.inner.link.bound();
        self.inner
            .link
            .run("cache write", budget, op)
            .await
            .is_some()
    }

    /// [`publish`](Self::publish) for a sync caller.
    pub(crate) fn publish_blocking(
        &self,
        address: &Address,
        entry: Vec<u8>,
        ttl: Duration,
        lease: Option<u64>,
    ) -> bool {
        let op = self.publish_op(address, entry, ttl, lease);
        let budget = self.inner.link.bound();
        self.inner
            .link
            .run_blocking("cache write", budget, op)
            .is_some()
    }

    /// Releases the lease `key` after a failed or abandoned refresh, so the
    /// instances waiting for it stop waiting. Not waited for.
    fn give_up(&self, key: Box<str>, token: u64) {
        let release = move |mut conn: ConnectionManager, bound: Duration| async move {
            let mut release = redis::cmd("EVAL");
            release
                .arg(RELEASE)
                .arg(1)
                .arg(&*key)
                .arg(token_text(token));
            bounded(bound, release.query_async::<()>(&mut conn)).await
        };
        self.inner.link.run_detached("cache lease release", release);
    }

    /// Counts an entry that did not decode (a miss).
    pub(crate) fn malformed(&self, detail: &str) {
        self.inner.link.malformed("cache decode", detail);
    }

    /// The operation of [`acquire`](Self::acquire): past the entry's read,
    /// or from `read` when the caller read it already.
    fn acquire_op(
        &self,
        address: &Address,
        maxage: u64,
        read: Option<Option<Seen>>,
    ) -> (Op<Acquired>, Duration) {
        let address = address.clone();
        let options = &self.inner.options;
        let limit = options.max_entry_bytes_value();
        let lease_ms = millis(options.refresh_lease_value());
        let wait = options.refresh_wait_value();
        let token = fastrand::u64(..);
        let bound = self.inner.link.bound();
        let fleet = self.clone();
        // Read, take the lease, then follow for at most `wait`: its last
        // poll may start just before the wait ends, and the entry is read
        // once more when it turns fresh or changed.
        let budget = bound * (4 + u32::from(read.is_none())) + wait;
        let op = move |mut conn: ConnectionManager, bound: Duration| -> Pending<Acquired> {
            Box::pin(async move {
                let entry = match read {
                    Some(seen) => Ok(seen),
                    None => self::read(&mut conn, bound, &address.entry, limit).await,
                };
                let seen = match entry {
                    Ok(seen) => seen,
                    // Not a string (someone else's list, say): no entry,
                    // and the loaded value is written over it.
                    Err(error) if link::classify(&error).is_none() => {
                        fleet.malformed(&error.to_string());
                        None
                    }
                    Err(error) => return Err(error),
                };
                if let Some(fresh) = seen.as_ref().filter(|seen| is_fresh(seen, maxage)) {
                    return Ok(Acquired::Fresh(fresh.clone()));
                }
                // Held from before the ask: if this operation is cut off
                // (its bound, or its caller gone) once the `SET` is sent,
                // the release follows it on the same connection.
                let mut lease = Lease {
                    held: Some((fleet, address.lease.as_str().into())),
                    token,
                };
                let taken: Option<String> = bounded(
                    bound,
                    redis::cmd("SET")
                        .arg(&address.lease)
                        .arg(token_text(token))
                        .arg("NX")
                        .arg("PX")
                        .arg(lease_ms.max(1))
                        .query_async(&mut conn),
                )
                .await?;
                if taken.is_some() {
                    return Ok(Acquired::Lead(seen, lease));
                }
                lease.held = None;
                follow(&mut conn, bound, &address, limit, maxage, wait, seen).await
            })
        };
        (Box::new(op), budget)
    }

    fn publish_op(
        &self,
        address: &Address,
        entry: Vec<u8>,
        ttl: Duration,
        lease: Option<u64>,
    ) -> Op<()> {
        let address = address.clone();
        Box::new(
            move |mut conn: ConnectionManager, bound: Duration| -> Pending<()> {
                Box::pin(async move {
                    let ttl = millis(ttl).max(1);
                    let mut pipe = redis::pipe();
                    pipe.cmd("EVAL")
                        .arg(STAMP_AND_SET)
                        .arg(1)
                        .arg(&address.entry)
                        .arg(&entry)
                        .arg(ttl)
                        .ignore();
                    // Release the flight's lease, if it is still ours.
                    if let Some(token) = lease {
                        pipe.cmd("EVAL")
                            .arg(RELEASE)
                            .arg(1)
                            .arg(&address.lease)
                            .arg(token_text(token))
                            .ignore();
                    }
                    match bounded(bound, pipe.query_async::<()>(&mut conn)).await {
                        // The server refuses the script (an ACL without
                        // `EVAL`): the entry is written as its writer
                        // stamped it, on the writer's clock; the refusal is
                        // still counted.
                        Err(refused) if link::classify(&refused).is_none() => {
                            let mut set = redis::cmd("SET");
                            set.arg(&address.entry).arg(&entry).arg("PX").arg(ttl);
                            bounded(bound, set.query_async::<()>(&mut conn)).await?;
                            Err(refused)
                        }
                        answer => answer,
                    }
                })
            },
        )
    }
}

/// A lease token as written to Redis.
fn token_text(token: u64) -> String {
    format!("{token:016x}")
}

/// Writes `ARGV[1]` (an entry) with time to live `ARGV[2]` ms, its load
/// time (bytes 2 to 9, big-endian milliseconds) replaced by Redis's `TIME`:
/// every age is then measured on Redis's clock alone. (`replicate_commands`
/// lets a script write after `TIME` on Redis before 5; a no-op after.)
const STAMP_AND_SET: &str = "if redis.replicate_commands then redis.replicate_commands() end \
     local t = redis.call('TIME') \
     local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
     local high = math.floor(ms / 4294967296) \
     local entry = string.sub(ARGV[1], 1, 1) .. struct.pack('>I4I4', high, ms - high * 4294967296) .. string.sub(ARGV[1], 10) \
     return redis.call('SET', KEYS[1], entry, 'PX', ARGV[2])";

/// Deletes a lease only when it holds this instance's token.
pub(crate) const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// At most `limit + 1` bytes of an entry (one more than allowed tells an
/// oversized entry) and Redis's clock; `None` when there is none.
async fn read(
    conn: &mut ConnectionManager,
    bound: Duration,
    entry: &str,
    limit: usize,
) -> redis::RedisResult<Option<Seen>> {
    let answer = bounded(bound, read_pipe(entry, limit).query_async(conn)).await?;
    Ok(seen_of(answer))
}

/// The pipeline of [`read`]: the entry's first `limit + 1` bytes, and
/// Redis's `TIME`.
fn read_pipe(entry: &str, limit: usize) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd("GETRANGE")
        .arg(entry)
        .arg(0)
        .arg(limit)
        .cmd("TIME");
    pipe
}

/// The entry [`read_pipe`]'s answer holds, if any.
fn seen_of((bytes, time): (Vec<u8>, (u64, u64))) -> Option<Seen> {
    (!bytes.is_empty()).then(|| Seen {
        bytes,
        at: redis_millis(time),
    })
}

/// Waits for the lease holder's value: polls the entry's load time (its
/// header, a few bytes) and the lease until a fresh entry appears, the
/// lease is gone (its holder gave up or died), or `wait` has passed. The
/// entry itself is read only when it is fresh, or at the end when it
/// changed since `seen`: a large value is not fetched every poll.
async fn follow(
    conn: &mut ConnectionManager,
    bound: Duration,
    address: &Address,
    limit: usize,
    maxage: u64,
    wait: Duration,
    mut seen: Option<Seen>,
) -> redis::RedisResult<Acquired> {
    let deadline = tokio::time::Instant::now() + wait;
    let loaded_at = |seen: &Option<Seen>| seen.as_ref().and_then(|s| codec::loaded_at(&s.bytes));
    let mut latest = loaded_at(&seen);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let (header, held, time): (Vec<u8>, bool, (u64, u64)) = bounded(
            bound,
            redis::pipe()
                .cmd("GETRANGE")
                .arg(&address.entry)
                .arg(0)
                .arg(codec::HEADER - 1)
                .cmd("EXISTS")
                .arg(&address.lease)
                .cmd("TIME")
                .query_async(conn),
        )
        .await?;
        latest = codec::loaded_at(&header).or(latest);
        let polled = Seen {
            bytes: header,
            at: redis_millis(time),
        };
        if is_fresh(&polled, maxage) {
            let entry = read(conn, bound, &address.entry, limit).await?;
            if let Some(fresh) = entry.as_ref().filter(|e| is_fresh(e, maxage)) {
                return Ok(Acquired::Fresh(fresh.clone()));
            }
            seen = entry.or(seen);
        }
        if !held {
            break;
        }
    }
    if latest != loaded_at(&seen) {
        seen = read(conn, bound, &address.entry, limit).await?.or(seen);
    }
    Ok(Acquired::Alone(seen))
}

/// Whether an entry was younger than `maxage` when it was read, on Redis's
/// clock. (One stamped ahead of that clock counts as age 0 here; decoding
/// turns it away.)
fn is_fresh(seen: &Seen, maxage: u64) -> bool {
    codec::loaded_at(&seen.bytes).is_some_and(|at| seen.at.saturating_sub(at) < maxage)
}

/// `TIME`'s seconds and microseconds as Unix milliseconds.
fn redis_millis((seconds, micros): (u64, u64)) -> u64 {
    seconds.saturating_mul(1000).saturating_add(micros / 1000)
}
