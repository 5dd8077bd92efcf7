//! The Python twins of `examples/`: each pins its observable sequence for a
//! fixed failure schedule, on paused time.

use resilience_examples::twins::http_retry::{HttpError, OrdersClient, STORY, run};

#[tokio::test(start_paused = true)]
async fn http_retry_retries_5xx_with_exponential_backoff_and_never_a_4xx() {
    let client = OrdersClient::new(STORY);
    let reports = run(&client, &[1, 2, 3, 4]).await;
    let summary: Vec<_> = reports
        .iter()
        .map(|r| (r.order_id, r.outcome.clone(), r.requests))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Ok("order 1".to_string()), 3),
            (2, Err(HttpError(404)), 1),
            (3, Err(HttpError(500)), 3),
            (4, Ok("order 4".to_string()), 1),
        ]
    );
    // 0.5 s then 1 s between attempts; the 404 and the healthy call wait for nothing.
    assert_eq!(
        *client.sent_at_ms.lock().unwrap(),
        [0, 500, 1500, 1500, 1500, 2000, 3000, 3000]
    );
}

mod profile_cache {
    use std::time::Duration;

    use resilience_examples::twins::Schedule;
    use resilience_examples::twins::profile_cache::{Served, run};

    #[tokio::test(start_paused = true)]
    async fn fresh_loaded_stale_and_failed_in_the_order_the_python_original_would_serve_them() {
        let (f, t) = (false, true);
        // Upstream calls: 3 failures, 1 success, 6 failures, then successes.
        let upstream = Schedule::new([f, f, f, t, f, f, f, f, f, f]);
        let served = run(upstream, 10, Duration::from_secs(1)).await;
        let seconds: Vec<u64> = served.iter().map(|(at, _)| at.as_secs()).collect();
        let what: Vec<Served> = served.into_iter().map(|(_, served)| served).collect();
        assert_eq!(
            what,
            [
                // t=0: the first call fails (2 retries, 0.3 s): its error, nothing
                // cached (where the Python original raises NameError).
                Served::Failed { attempts: 3 },
                Served::Loaded { attempts: 1 }, // t=1.3
                Served::Fresh,                  // age 1 s
                Served::Fresh,                  // age 2 s
                // age 3 s = maxage: refresh fails 3 times, stale served
                Served::Stale {
                    age_secs: 3,
                    attempts: 3
                },
                Served::Stale {
                    age_secs: 4,
                    attempts: 3
                },
                Served::Loaded { attempts: 1 }, // t=6.9
                Served::Fresh,
                Served::Fresh,
                Served::Loaded { attempts: 1 }, // age 3 s again: refreshed
            ]
        );
        assert_eq!(seconds, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}

mod payment_gateway {
    use std::time::Duration;

    use resilience_examples::twins::Schedule;
    use resilience_examples::twins::payment_gateway::{Receipt, run};

    #[tokio::test(start_paused = true)]
    async fn opens_above_half_failures_in_ten_seconds_queues_for_sixty_then_probes() {
        let psp = Schedule::new([true, true, false, true, false, false]);
        let attempts = run(psp, Duration::from_secs(2), Duration::from_secs(80)).await;
        assert_eq!(attempts.len(), 41);

        let charged = |order: u32| Receipt::Charged { order };
        let timed_out = |order: u32| Receipt::Queued {
            order,
            reason: "payment service timed out".into(),
        };
        let first_six: Vec<_> = attempts[..6].iter().map(|a| a.receipt.clone()).collect();
        assert_eq!(
            first_six,
            [
                charged(1),
                charged(2),
                timed_out(3),
                charged(4),
                timed_out(5),
                timed_out(6)
            ]
        );
        assert!(attempts[..6].iter().all(|a| a.reached_psp));

        // 3 of the 5 calls in the last 10 s failed (60 % > 50 %): open at t=10
        // for 60 s. Orders 7–35 are queued without reaching the PSP.
        let open = &attempts[6..35];
        assert!(open.iter().all(|a| !a.reached_psp));
        assert_eq!(
            open[0].receipt,
            Receipt::Queued {
                order: 7,
                reason: "breaker open, next probe in 58s".into()
            }
        );
        assert!(open.iter().all(|a| matches!(&a.receipt, Receipt::Queued { reason, .. } if reason.starts_with("breaker open"))));

        // t=70: the probe succeeds and the breaker closes.
        assert_eq!(attempts[35].at_secs, 70);
        assert!(
            attempts[35..]
                .iter()
                .all(|a| a.reached_psp && matches!(a.receipt, Receipt::Charged { .. }))
        );
    }
}
