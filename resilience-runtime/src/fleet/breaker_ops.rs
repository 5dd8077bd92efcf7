//! The shared-breaker operations: publish "open until T" and "closed",
//! hear the other instances' news, and hold the fleet's one probe lease.
//!
//! News travels two ways: a key `breaker-open:{name}` holding T with a time
//! to live of `open_for` (what an instance that starts or reconnects reads),
//! and a message on the namespace's pub/sub channel (what running
//! instances hear at once). Messages are untrusted input: anything that
//! does not parse is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel};
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::RwLock;
use redis::aio::ConnectionManager;

use super::Fleet;
use super::cache_ops::RELEASE;
use super::guard::Guarded;
use super::link::bounded;

/// How long the listener waits before subscribing again after losing its
/// connection.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(250);

/// How long the listener waits to connect and subscribe.
const SUBSCRIBE_BOUND: Duration = Duration::from_secs(1);

/// A listener that heard nothing for this long pings its connection.
const LISTEN_PING_EVERY: Duration = Duration::from_secs(1);

/// How long the listener's ping may take before its connection counts as
/// silent (it is off every call's path, so it can wait longer than an
/// operation).
const LISTEN_PING_BOUND: Duration = Duration::from_millis(500);

/// Takes the probe lease, or finds it already this instance's (for
/// `half_open_calls` above 1).
const TAKE_PROBE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 \
     elseif redis.call('GET', KEYS[1]) == ARGV[1] then return 1 else return 0 end";

/// What another instance said about a breaker. An episode is the wall
/// time (Unix milliseconds) at which an opening began: a closing names the
/// opening it ends, so one that arrives late cannot end a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Opened until this wall time (Unix milliseconds).
    OpenUntil { until: u64, episode: u64 },
    /// Closed the opening of this episode (and any older one).
    Closed { episode: u64 },
}

/// Deletes the open key (`KEYS[1]`) and the votes (`KEYS[2]`) unless the
/// open key holds an opening newer than the closing's episode (`ARGV[1]`).
const CLOSE: &str = "local v = redis.call('GET', KEYS[1]) \
     if v then local e = tonumber(string.match(v, '^%d+ (%d+)$')) \
     if e and e > tonumber(ARGV[1]) then return 0 end end \
     redis.call('DEL', KEYS[2]) \
     return redis.call('DEL', KEYS[1])";

/// A take of the probe lease in progress on the fleet thread.
type TakeProbe =
    std::pin::Pin<Box<dyn std::future::Future<Output = redis::RedisResult<bool>> + Send>>;

/// Records this instance's vote (`ARGV[1]`) in the votes (`KEYS[1]`, a
/// sorted set scored by Redis's clock in milliseconds), drops the votes
/// older than `ARGV[2]` ms and those dated more than a second ahead (only
/// a hostile writer dates them so), and counts them. When they reach the
/// quorum (`ARGV[3]`) it opens the fleet as an opening without a quorum
/// does: the open key (`KEYS[2]`) holds `ARGV[4]` for `ARGV[5]` ms, the
/// probe lease (`KEYS[3]`) is spent, and `ARGV[7]` is published on
/// `ARGV[6]`. Returns the count. A votes key of another type is replaced.
const VOTE: &str = "local t = redis.call('TIME') \
     local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
     if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then redis.call('DEL', KEYS[1]) end \
     redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', now - tonumber(ARGV[2]))) \
     redis.call('ZREMRANGEBYSCORE', KEYS[1], string.format('(%d', now + 1000), '+inf') \
     redis.call('ZADD', KEYS[1], now, ARGV[1]) \
     redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
     local votes = redis.call('ZCARD', KEYS[1]) \
     if votes >= tonumber(ARGV[3]) then \
       redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5]) \
       redis.call('DEL', KEYS[3]) \
       redis.call('PUBLISH', ARGV[6], ARGV[7]) \
     end \
     return votes";

/// The longest a vote counts, or an opening it publishes lasts, in
/// milliseconds: about 35 years.
const MAX_VOTE_MILLIS: u64 = 1 << 40;

/// A local opening of a breaker with a quorum above 1, told to the fleet
/// as a vote.
pub(crate) struct Vote<'a> {
    pub(crate) name: &'a str,
    /// Opened until this wall time (Unix milliseconds) …
    pub(crate) until: u64,
    /// … in the opening that began at this one.
    pub(crate) episode: u64,
    /// How long it is open from now: the open key's time to live.
    pub(crate) open_for: Duration,
    /// How long the vote counts: the breaker's `open_for`.
    pub(crate) lifetime: Duration,
    /// Distinct instances whose votes open the fleet.
    pub(crate) quorum: u32,
}

/// A read of an open key in progress on the fleet thread.
type ReadOpen =
    std::pin::Pin<Box<dyn std::future::Future<Output = redis::RedisResult<Vec<u8>>> + Send>>;

/// Called with each signal for one breaker name: on the news thread, or
/// (the first read of its open key) on the thread that shares it.
pub(crate) type Handler = Arc<dyn Fn(Signal) + Send + Sync>;

/// The breakers this instance shares, by name.
#[derive(Default)]
pub(crate) struct Board {
    handlers: RwLock<HashMap<String, Handler>>,
    listening: AtomicBool,
    /// The thread news from the listener is delivered on, in order: not
    /// the fleet's I/O thread, since a breaker tells its transitions to
    /// state-change listeners — user code, which may be slow.
    news: parking_lot::Mutex<Option<std::sync::mpsc::Sender<(Handler, Signal)>>>,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board")
            .field("breakers", &self.handlers.read().len())
            .finish()
    }
}

impl Board {
    /// Hands `signal` to `name`'s breaker on the news thread.
    fn deliver(&self, name: &str, signal: Signal) {
        let Some(handler) = self.handlers.read().get(name).cloned() else {
            return;
        };
        let mut news = self.news.lock();
        if news.is_none() {
            let (send, receive) = std::sync::mpsc::channel::<(Handler, Signal)>();
            let started = std::thread::Builder::new()
                .name("resilience-fleet-news".into())
                .spawn(move || {
                    // Ends when the board (the fleet) is dropped.
                    for (handler, signal) in receive {
                        handler(signal);
                    }
                });
            if started.is_ok() {
                *news = Some(send);
            }
        }
        match news.as_ref() {
            Some(send) => {
                let _ = send.send((handler, signal));
            }
            // No thread to be had: delivered here rather than lost.
            None => {
                drop(news);
                handler(signal);
            }
        }
    }

    /// Hands `signal` to `name`'s breaker on this thread, now.
    fn deliver_now(&self, name: &str, signal: Signal) {
        let handler = self.handlers.read().get(name).cloned();
        if let Some(handler) = handler {
            handler(signal);
        }
    }
}

impl Fleet {
    /// Hears the other instances' news of breaker `name` from now on, and
    /// reads whether it is open across the fleet already.
    ///
    /// The read is made here, blocking the calling thread at most the
    /// operation bound, once per breaker: the breaker's first call then
    /// decides knowing whether the fleet holds it open. (The listener reads
    /// the open keys again once it has subscribed, so news published in
    /// between is not lost.)
    pub(crate) fn watch_breaker(&self, name: &str, handler: Handler) {
        let board = &self.inner.board;
        board.handlers.write().insert(name.to_owned(), handler);
        if !board.listening.swap(true, AcqRel) {
            let fleet = self.clone();
            self.inner
                .link
                .runtime
                .spawn(Fleet::listen(Arc::downgrade(&fleet.inner)));
        }
        let (op, key) = self.read_open_op(name);
        let bound = self.inner.link.bound();
        if let Some(bytes) = self.inner.link.run_blocking("breaker read", bound, op) {
            self.deliver_open(name, &key, &bytes, true);
        }
    }

    /// Tells the fleet this instance opened `name` until `until` (Unix
    /// milliseconds), for `open_for`, in the opening of `episode`. Not
    /// waited for.
    pub(crate) fn publish_open(&self, name: &str, until: u64, episode: u64, open_for: Duration) {
        let key = self.inner.keys.breaker_open(name);
        let probe = self.inner.keys.breaker_probe(name);
        let channel = self.inner.keys.breaker_channel();
        let message = format!("{} open {until} {episode} {name}", self.inner.instance);
        let value = format!("{until} {episode}");
        let ttl = crate::clock::millis(open_for).max(1);
        self.inner
            .link
            .run_detached("breaker publish", move |mut conn, bound| async move {
                let mut pipe = redis::pipe();
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("PX")
                    .arg(ttl)
                    .ignore()
                    // A failed probe re-opens it: its lease is spent.
                    .cmd("DEL")
                    .arg(&probe)
                    .ignore()
                    .cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&message)
                    .ignore();
                bounded(bound, pipe.query_async::<()>(&mut conn)).await
            });
    }

    /// Tells the fleet this instance opened a breaker whose quorum is above
    /// 1: records its vote, and opens the fleet (as
    /// [`publish_open`](Self::publish_open) does) when the votes of the last
    /// `lifetime` reach the quorum, all in one script. `reached` is called,
    /// on the fleet thread, when they did. Not waited for.
    pub(crate) fn vote_open(&self, vote: &Vote<'_>, reached: impl FnOnce() + Send + 'static) {
        let votes_key = self.inner.keys.breaker_votes(vote.name);
        let key = self.inner.keys.breaker_open(vote.name);
        let probe = self.inner.keys.breaker_probe(vote.name);
        let channel = self.inner.keys.breaker_channel();
        let (until, episode, quorum) = (vote.until, vote.episode, vote.quorum);
        let message = format!(
            "{} open {until} {episode} {}",
            self.inner.instance, vote.name
        );
        let value = format!("{until} {episode}");
        // Clamped so that the script's arithmetic on Redis's clock (and
        // `PEXPIRE`) stays in range whatever `open_for` says.
        let millis = |d: Duration| crate::clock::millis(d).clamp(1, MAX_VOTE_MILLIS);
        let (ttl, lifetime) = (millis(vote.open_for), millis(vote.lifetime));
        let token = self.inner.instance.clone();
        let namespace = self.inner.namespace.clone();
        let name = vote.name.to_owned();
        self.inner
            .link
            .run_detached("breaker vote", move |mut conn, bound| async move {
                let mut script = redis::cmd("EVAL");
                script
                    .arg(VOTE)
                    .arg(3)
                    .arg(&votes_key)
                    .arg(&key)
                    .arg(&probe)
                    .arg(&token)
                    .arg(lifetime)
                    .arg(quorum)
                    .arg(&value)
                    .arg(ttl)
                    .arg(&channel)
                    .arg(&message);
                let votes: i64 = bounded(bound, script.query_async(&mut conn)).await?;
                if votes >= i64::from(quorum) {
                    tracing::info!(
                        target: "resilience", namespace, breaker = name, votes, quorum,
                        "circuit breaker `{name}` opened on {votes} replicas: open across the fleet"
                    );
                    reached();
                } else {
                    tracing::debug!(
                        target: "resilience", namespace, breaker = name, votes, quorum,
                        "circuit breaker `{name}` opened here; {votes} of the {quorum} replicas \
                         needed to open the fleet"
                    );
                }
                Ok(())
            });
    }

    /// Takes this instance's vote for `name` back: its opening, which the
    /// fleet never reached, ended. Not waited for.
    pub(crate) fn withdraw_vote(&self, name: &str) {
        let votes_key = self.inner.keys.breaker_votes(name);
        let token = self.inner.instance.clone();
        self.inner
            .link
            .run_detached("breaker vote", move |mut conn, bound| async move {
                let mut withdraw = redis::cmd("ZREM");
                withdraw.arg(&votes_key).arg(&token);
                bounded(bound, withdraw.query_async::<redis::Value>(&mut conn))
                    .await
                    .map(drop)
            });
    }

    /// Tells the fleet this instance closed `name`, ending the opening of
    /// `episode`, and clears its votes. Not waited for.
    pub(crate) fn publish_closed(&self, name: &str, episode: u64) {
        let key = self.inner.keys.breaker_open(name);
        let votes = self.inner.keys.breaker_votes(name);
        let probe = self.inner.keys.breaker_probe(name);
        let channel = self.inner.keys.breaker_channel();
        let message = format!("{} closed {episode} {name}", self.inner.instance);
        self.inner
            .link
            .run_detached("breaker publish", move |mut conn, bound| async move {
                let mut pipe = redis::pipe();
                pipe.cmd("EVAL")
                    .arg(CLOSE)
                    .arg(2)
                    .arg(&key)
                    .arg(&votes)
                    .arg(episode)
                    .ignore()
                    .cmd("DEL")
                    .arg(&probe)
                    .ignore()
                    .cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&message)
                    .ignore();
                bounded(bound, pipe.query_async::<()>(&mut conn)).await
            });
    }

    /// Takes the fleet's one half-open probe lease of `name` for `ttl`.
    /// `true` when it is this instance's — or when Redis does not answer
    /// (the breaker then probes on its own, as a local one would).
    pub(crate) async fn take_probe(&self, name: &str, ttl: Duration) -> bool {
        let bound = self.inner.link.bound();
        let op = self.take_probe_op(name, ttl);
        self.inner
            .link
            .run("breaker probe lease", bound, op)
            .await
            .unwrap_or(true)
    }

    /// [`take_probe`](Self::take_probe) for a sync caller: blocks its
    /// thread, at most the operation bound.
    pub(crate) fn take_probe_blocking(&self, name: &str, ttl: Duration) -> bool {
        let bound = self.inner.link.bound();
        let op = self.take_probe_op(name, ttl);
        self.inner
            .link
            .run_blocking("breaker probe lease", bound, op)
            .unwrap_or(true)
    }

    fn take_probe_op(
        &self,
        name: &str,
        ttl: Duration,
    ) -> impl FnOnce(ConnectionManager, Duration) -> TakeProbe + Send + 'static {
        let key = self.inner.keys.breaker_probe(name);
        let token = self.inner.instance.clone();
        let ttl = crate::clock::millis(ttl).max(1);
        move |mut conn, bound| -> TakeProbe {
            Box::pin(async move {
                let mut take = redis::cmd("EVAL");
                take.arg(TAKE_PROBE).arg(1).arg(&key).arg(&token).arg(ttl);
                let taken: i64 = bounded(bound, take.query_async(&mut conn)).await?;
                Ok(taken == 1)
            })
        }
    }

    /// Gives the probe lease of `name` back (a probe that was dropped).
    /// Not waited for.
    pub(crate) fn release_probe(&self, name: &str) {
        let key = self.inner.keys.breaker_probe(name);
        let token = self.inner.instance.clone();
        self.inner
            .link
            .run_detached("breaker probe release", move |mut conn, bound| async move {
                let mut release = redis::cmd("EVAL");
                release.arg(RELEASE).arg(1).arg(&key).arg(&token);
                bounded(bound, release.query_async::<()>(&mut conn)).await
            });
    }

    /// Subscribes to the breaker channel, again after every lost
    /// connection, and reads the open keys of every watched breaker each
    /// time it (re)subscribes.
    ///
    /// It holds the fleet weakly, so that dropping the last `Fleet` ends
    /// the fleet's thread, this task with it.
    async fn listen(fleet: std::sync::Weak<super::Inner>) {
        loop {
            let Some(inner) = fleet.upgrade() else { return };
            let this = Fleet { inner };
            let channel = this.inner.keys.breaker_channel();
            let client = this.inner.link.client.clone();
            // Connect and subscribe within one bound: a path that goes
            // silent between the two must not hold the listener forever.
            let subscribed = tokio::time::timeout(SUBSCRIBE_BOUND, async {
                let mut pubsub = pubsub(&client).await?;
                pubsub.subscribe(&channel).await?;
                redis::RedisResult::Ok(pubsub)
            })
            .await;
            if let Ok(Ok(pubsub)) = subscribed {
                drop(this);
                if Fleet::hear_until_silent(&fleet, pubsub).await.is_none() {
                    return;
                }
            } else {
                drop(this);
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        }
    }

    /// Reads the open keys, then hears messages until the connection ends
    /// or goes silent: no message for [`LISTEN_PING_EVERY`], and no answer
    /// to a ping within [`LISTEN_PING_BOUND`] — or until the fleet's other
    /// connection is replaced. A silent connection is a
    /// path that hangs, and the fleet's other connection likely shares it:
    /// that one is replaced too. The open keys are read again until a read
    /// gets through (a reconnect catches up even if Redis was down when it
    /// subscribed). `None` when the fleet is gone.
    async fn hear_until_silent(
        fleet: &std::sync::Weak<super::Inner>,
        pubsub: redis::aio::PubSub,
    ) -> Option<()> {
        let (mut sink, mut messages) = pubsub.split();
        let mut caught_up = false;
        // The fleet's connection replaced (it hung, or met a node demoted
        // by a failover): this one likely leads to the same place, where
        // no news is published any more. Subscribe again, and catch up.
        let generation = fleet.upgrade()?.link.generation();
        loop {
            if fleet.upgrade()?.link.generation() != generation {
                return Some(());
            }
            if !caught_up {
                let this = Fleet {
                    inner: fleet.upgrade()?,
                };
                let names: Vec<String> = this.inner.board.handlers.read().keys().cloned().collect();
                caught_up = this.read_open(&names).await;
            }
            match tokio::time::timeout(LISTEN_PING_EVERY, messages.next()).await {
                Ok(Some(message)) => Fleet {
                    inner: fleet.upgrade()?,
                }
                .heard(message.get_payload_bytes()),
                Ok(None) => return Some(()),
                Err(_) => {
                    let pong =
                        tokio::time::timeout(LISTEN_PING_BOUND, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        fleet.upgrade()?.link.rebuild();
                        return Some(());
                    }
                }
            }
        }
    }

    /// Delivers the "open until T" keys of `names` that exist. At most
    /// [`MAX_OPEN_BYTES`] of each are read; anything but `{until}
    /// {episode}` in them is ignored (counted as malformed).
    /// Whether every read was answered.
    async fn read_open(&self, names: &[String]) -> bool {
        let mut answered = true;
        for name in names {
            let (op, key) = self.read_open_op(name);
            let bound = self.inner.link.bound();
            match self.inner.link.run("breaker read", bound, op).await {
                Some(bytes) => self.deliver_open(name, &key, &bytes, false),
                None => answered = false,
            }
        }
        answered
    }

    /// Reads at most [`MAX_OPEN_BYTES`] of `name`'s open key; the key too.
    #[allow(clippy::type_complexity)]
    fn read_open_op(
        &self,
        name: &str,
    ) -> (
        impl FnOnce(ConnectionManager, Duration) -> ReadOpen + Send + 'static,
        String,
    ) {
        let key = self.inner.keys.breaker_open(name);
        let read_key = key.clone();
        let op = move |mut conn: ConnectionManager, bound| -> ReadOpen {
            Box::pin(async move {
                bounded(
                    bound,
                    redis::cmd("GETRANGE")
                        .arg(&read_key)
                        .arg(0)
                        .arg(MAX_OPEN_BYTES)
                        .query_async::<Vec<u8>>(&mut conn),
                )
                .await
            })
        };
        (op, key)
    }

    /// Delivers what `name`'s open key held, if anything: on this thread
    /// `now`, else on the news thread.
    fn deliver_open(&self, name: &str, key: &str, bytes: &[u8], now: bool) {
        if bytes.is_empty() {
            return;
        }
        match parse_open(bytes) {
            Some((until, episode)) => {
                let signal = Signal::OpenUntil { until, episode };
                if now {
                    self.inner.board.deliver_now(name, signal);
                } else {
                    self.inner.board.deliver(name, signal);
                }
            }
            None => self.inner.link.malformed(
                "breaker read",
                &format!("{key} holds an open-until that is not two times"),
            ),
        }
    }

    /// One message from the channel.
    fn heard(&self, payload: &[u8]) {
        let Some((instance, name, signal)) = parse(payload) else {
            return;
        };
        if instance != self.inner.instance {
            self.inner.board.deliver(name, signal);
        }
    }
}

/// The longest time read: a Unix time in milliseconds has 13 digits, a
/// `u64` at most 20.
const MAX_TIME_BYTES: usize = 20;

/// The longest "open until" value read: `{until} {episode}`.
const MAX_OPEN_BYTES: usize = 2 * MAX_TIME_BYTES + 1;

/// The largest pub/sub frame the listener takes: a message is an instance
/// id, a word, a time and a breaker name.
const MAX_MESSAGE_BYTES: usize = 4096;

/// A pub/sub connection whose reads are bounded ([`Guarded`]) on a plain
/// TCP or Unix socket, with the client's TCP keepalive. Over TLS
/// (`rediss://`) it is redis-rs's own — with the client's certificates and
/// TCP settings — whose reads are bounded only by the server's
/// `proto-max-bulk-len`.
async fn pubsub(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let info = client.get_connection_info();
    let settings = info.redis_settings();
    match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            stream.set_nodelay(true)?;
            if let Some(keepalive) = info.tcp_settings().keepalive() {
                redis::io::tcp::socket2::SockRef::from(&stream).set_tcp_keepalive(keepalive)?;
            }
            redis::aio::PubSub::new(settings, Guarded::new(stream, MAX_MESSAGE_BYTES)).await
        }
        #[cfg(unix)]
        redis::ConnectionAddr::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path).await?;
            redis::aio::PubSub::new(settings, Guarded::new(stream, MAX_MESSAGE_BYTES)).await
        }
        _ => client.get_async_pubsub().await,
    }
}

/// A time in Unix milliseconds: ASCII digits only.
fn parse_time(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > MAX_TIME_BYTES || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An open key's value: `{until} {episode}`.
fn parse_open(bytes: &[u8]) -> Option<(u64, u64)> {
    let (until, episode) = std::str::from_utf8(bytes).ok()?.split_once(' ')?;
    Some((parse_time(until)?, parse_time(episode)?))
}

/// `{instance} open {until} {episode} {name}` or
/// `{instance} closed {episode} {name}`.
fn parse(payload: &[u8]) -> Option<(&str, &str, Signal)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (instance, rest) = text.split_once(' ')?;
    let (kind, rest) = rest.split_once(' ')?;
    let (first, rest) = rest.split_once(' ')?;
    let (signal, name) = match kind {
        "open" => {
            let (episode, name) = rest.split_once(' ')?;
            let until = parse_time(first)?;
            (
                Signal::OpenUntil {
                    until,
                    episode: parse_time(episode)?,
                },
                name,
            )
        }
        "closed" => (
            Signal::Closed {
                episode: parse_time(first)?,
            },
            rest,
        ),
        _ => return None,
    };
    Some((instance, name, signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_and_junk_is_dropped() {
        assert_eq!(
            parse(b"abc open 1700 1600 pay ments"),
            Some((
                "abc",
                "pay ments",
                Signal::OpenUntil {
                    until: 1700,
                    episode: 1600
                }
            ))
        );
        assert_eq!(
            parse(b"abc closed 1600 pay"),
            Some(("abc", "pay", Signal::Closed { episode: 1600 }))
        );
        for junk in [
            &b""[..],
            b"abc",
            b"abc open x 1 pay",
            b"abc open 1 pay",
            b"abc open 1 -2 pay",
            b"abc closed x pay",
            b"abc shut 0 pay",
            b"abc open 999999999999999999999 1 pay",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
        assert_eq!(parse_open(b"1700 1600"), Some((1700, 1600)));
        for junk in [&b"1700"[..], b"soon 1", b"1 2 3", b"1 +2", b""] {
            assert_eq!(parse_open(junk), None, "{junk:?}");
        }
    }
}
