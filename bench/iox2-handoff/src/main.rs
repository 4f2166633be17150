// SPDX-License-Identifier: MIT
//! iox2-handoff: iceoryx2 as the hand-off of bench/b-handoff.c, for
//! bench/run.py (which builds it with cargo into the build tree).
//!
//! Writer (CPU 0): loan a slice of N bytes, write N bytes, send it, then
//! wait for the reader's acknowledgement. Reader (CPU 1, a second process:
//! this program with --reader): receive, read N bytes, release, send an
//! 8-byte acknowledgement on a second service. The writer's time runs from
//! the loan to its release of the acknowledgement. Two waiting styles,
//! interleaved in batches in the same two processes:
//!
//!   iceoryx2-listener  each side sleeps in an event Listener (blocking_wait)
//!                      that the other's Notifier wakes after each send
//!   iceoryx2-polling   each side busy-polls receive(), no events
//!
//! Sizes, batches and --turns as bench/iox-handoff.c: 64 B, 4 KiB, then x16
//! up to --max; per size a setup turn (with one warm-up batch of each
//! style) and one turn per batch, so run.py interleaves it batch by batch
//! with `shmview-bench handoff`. Prints RESULT lines like shmview-bench.
//!
//! usage: iox2-handoff [--quick] [--max N] [--turns]

use core::mem::MaybeUninit;
use iceoryx2::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

// the styles: 0 polling, LISTEN the event listener
const LISTEN: usize = 1;
const NAMES: [&str; 2] = ["iceoryx2-polling", "iceoryx2-listener"];

fn pin(cpu: usize) {
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn ncpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn die(msg: &str) -> ! {
    eprintln!("iox2-handoff: {msg}");
    std::process::exit(1);
}

/// One side's ports at one N: bytes out or in, acknowledgements the other
/// way, and an event each way for the listener style.
struct Ports {
    data_pub: Option<iceoryx2::port::publisher::Publisher<ipc::Service, [u8], ()>>,
    data_sub: Option<iceoryx2::port::subscriber::Subscriber<ipc::Service, [u8], ()>>,
    ack_pub: Option<iceoryx2::port::publisher::Publisher<ipc::Service, u64, ()>>,
    ack_sub: Option<iceoryx2::port::subscriber::Subscriber<ipc::Service, u64, ()>>,
    notifier: iceoryx2::port::notifier::Notifier<ipc::Service>,
    listener: iceoryx2::port::listener::Listener<ipc::Service>,
}

fn ports(node: &Node<ipc::Service>, tag: &str, n: usize, writer: bool) -> Ports {
    let sname = |s: &str| ServiceName::new(&format!("shmview-bench/{tag}/{n}/{s}")).unwrap();
    let data = node
        .service_builder(&sname("data"))
        .publish_subscribe::<[u8]>()
        .history_size(0)
        .subscriber_max_buffer_size(1)
        .subscriber_max_borrowed_samples(1)
        .open_or_create()
        .unwrap_or_else(|e| die(&format!("data service: {e:?}")));
    let ack = node
        .service_builder(&sname("ack"))
        .publish_subscribe::<u64>()
        .history_size(0)
        .subscriber_max_buffer_size(1)
        .subscriber_max_borrowed_samples(1)
        .open_or_create()
        .unwrap_or_else(|e| die(&format!("ack service: {e:?}")));
    let ev_out = node
        .service_builder(&sname(if writer { "to-reader" } else { "to-writer" }))
        .event()
        .open_or_create()
        .unwrap_or_else(|e| die(&format!("event service: {e:?}")));
    let ev_in = node
        .service_builder(&sname(if writer { "to-writer" } else { "to-reader" }))
        .event()
        .open_or_create()
        .unwrap_or_else(|e| die(&format!("event service: {e:?}")));
    let mut p = Ports {
        data_pub: None,
        data_sub: None,
        ack_pub: None,
        ack_sub: None,
        notifier: ev_out.notifier_builder().create().unwrap(),
        listener: ev_in.listener_builder().create().unwrap(),
    };
    if writer {
        p.data_pub = Some(
            data.publisher_builder()
                .initial_max_slice_len(n.max(1))
                .max_loaned_samples(1)
                .create()
                .unwrap_or_else(|e| die(&format!("publisher: {e:?}"))),
        );
        p.ack_sub = Some(ack.subscriber_builder().create().unwrap());
    } else {
        p.data_sub = Some(data.subscriber_builder().create().unwrap());
        p.ack_pub = Some(ack.publisher_builder().max_loaned_samples(1).create().unwrap());
    }
    p
}

fn wait_for<T>(p: &Ports, style: usize, mut take: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(s) = take() {
            return s;
        }
        if style == LISTEN {
            p.listener.blocking_wait(|_| {}).unwrap_or_else(|e| die(&format!("wait: {e:?}")));
        } else {
            core::hint::spin_loop();
        }
    }
}

/// The reader's pass over the bytes, as bench/common.c's sum_bytes runs it
/// (one 64-bit add per word, not vectorized: gcc -O2 does not vectorize
/// that loop, and LLVM would, which made this reader alone faster than the
/// floor's from 1 MiB).
fn sum_bytes(b: &[u8]) -> u64 {
    let (head, words, tail) = unsafe { b.align_to::<u64>() };
    let mut s = 0u64;
    for w in words {
        s = s.wrapping_add(unsafe { core::ptr::read_volatile(w) });
    }
    for x in head.iter().chain(tail) {
        s = s.wrapping_add(*x as u64);
    }
    s
}

fn reader() {
    pin(if ncpus() > 1 { 1 } else { 0 });
    let node = NodeBuilder::new().create::<ipc::Service>().unwrap();
    let mut input = BufReader::new(std::io::stdin());
    let mut out = std::io::stdout();
    let mut p: Option<Ports> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["setup", tag, n] => {
                drop(p.take()); // the previous size's ports first
                p = Some(ports(&node, tag, n.parse().unwrap(), false));
                out.write_all(b"r").unwrap();
                out.flush().unwrap();
            }
            ["run", n, style, reps] => {
                let (n, style, reps): (usize, usize, usize) =
                    (n.parse().unwrap(), style.parse().unwrap(), reps.parse().unwrap());
                let p = p.as_ref().unwrap();
                out.write_all(b"g").unwrap();
                out.flush().unwrap();
                let sub = p.data_sub.as_ref().unwrap();
                for i in 0..reps {
                    let s = wait_for(p, style, || sub.receive().unwrap());
                    if s.payload().len() != n {
                        die("a message of the wrong size");
                    }
                    core::hint::black_box(sum_bytes(s.payload()));
                    drop(s);
                    let a = p.ack_pub.as_ref().unwrap().loan_uninit().unwrap();
                    a.write_payload(i as u64).send().unwrap();
                    if style == LISTEN {
                        p.notifier.notify().unwrap();
                    }
                }
            }
            _ => return,
        }
    }
}

fn reps_for(n: usize, quick: bool) -> usize {
    let r = if n <= 65536 { 4000 } else if n <= 1 << 20 { 1000 } else if n <= 16 << 20 { 100 } else { 12 };
    if quick {
        if r >= 100 { r / 10 } else if r > 2 { 2 } else { r }
    } else {
        r
    }
}

/// "TURN <what>" and a byte from run.py before going on (--turns).
fn turn(turns: &mut bool, what: &str) {
    if !*turns {
        return;
    }
    println!("TURN {what}");
    std::io::stdout().flush().unwrap();
    let mut b = [0u8; 1];
    if std::io::stdin().read(&mut b).unwrap_or(0) == 0 {
        *turns = false;
    }
}

fn percentile(v: &mut [u64], p: f64) -> f64 {
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if p == 50.0 && n % 2 == 0 {
        return (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0;
    }
    let k = ((p / 100.0 * n as f64 + 0.999999) as usize).clamp(1, n);
    v[k - 1] as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--reader") {
        reader();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mut turns = args.iter().any(|a| a == "--turns");
    let maxn: usize = args
        .iter()
        .position(|a| a == "--max")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse().unwrap_or_else(|_| die("--max takes a number of bytes")))
        .unwrap_or(256 << 20);
    iceoryx2::prelude::set_log_level(iceoryx2::prelude::LogLevel::Error);
    turn(&mut turns, "start");
    let mut kid = Command::new(std::env::current_exe().unwrap())
        .arg("--reader")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn the reader: {e}")));
    let mut to_kid = kid.stdin.take().unwrap();
    let mut from_kid = kid.stdout.take().unwrap();
    pin(0);
    let node = NodeBuilder::new().create::<ipc::Service>().unwrap();
    let tag = format!("{}", std::process::id());
    let t0 = Instant::now();
    let now = || t0.elapsed().as_nanos() as u64;
    let mut byte = [0u8; 1];

    let mut n = 64usize;
    while n <= maxn {
        turn(&mut turns, &format!("n={n} setup"));
        let p = ports(&node, &tag, n, true);
        writeln!(to_kid, "setup {tag} {n}").unwrap();
        from_kid.read_exact(&mut byte).unwrap_or_else(|_| die("the reader did not start"));
        let reps = reps_for(n, quick);
        let batches = if n >= 1 << 20 || reps < 40 { reps } else { reps / 40 };
        let per = reps / batches;
        let mut samples: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        let mut bm: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let data = p.data_pub.as_ref().unwrap();
        let acks = p.ack_sub.as_ref().unwrap();
        for b in -1i64..batches as i64 {
            if b >= 0 {
                turn(&mut turns, &format!("n={n} batch {b}"));
            }
            for j in 0..2usize {
                let s = if b < 0 { j } else { (j + b as usize) % 2 };
                let k = if b < 0 { per.min(50) } else { per };
                let warm = (b >= 0) as usize;
                writeln!(to_kid, "run {n} {s} {}", k + warm).unwrap();
                from_kid.read_exact(&mut byte).unwrap_or_else(|_| die("the reader died"));
                let mut batch = Vec::with_capacity(k);
                for i in 0..k + warm {
                    let t = now();
                    let mut loan = data
                        .loan_slice_uninit(n)
                        .unwrap_or_else(|e| die(&format!("loan of {n} bytes: {e:?}")));
                    let fill = b'a' + ((i + per * b.max(0) as usize) % 26) as u8;
                    let payload: &mut [MaybeUninit<u8>] = loan.payload_mut();
                    unsafe { core::ptr::write_bytes(payload.as_mut_ptr() as *mut u8, fill, n) };
                    unsafe { loan.assume_init() }.send().unwrap();
                    if s == LISTEN {
                        p.notifier.notify().unwrap();
                    }
                    drop(wait_for(&p, s, || acks.receive().unwrap()));
                    let dt = now() - t;
                    if b >= 0 && i >= warm {
                        batch.push(dt);
                    }
                }
                if b >= 0 {
                    samples[s].extend_from_slice(&batch);
                    bm[s].push(format!("{:.3}", percentile(&mut batch, 50.0) / 1e3));
                }
            }
        }
        for s in 0..2 {
            let count = samples[s].len();
            let med = percentile(&mut samples[s], 50.0) / 1e3;
            let p99 = percentile(&mut samples[s], 99.0) / 1e3;
            println!(
                "RESULT {{\"bench\":\"handoff\",\"method\":\"{}\",\"n\":{n},\"placement\":\"cross-core\",\
                 \"unit\":\"us\",\"median\":{med:.3},\"p99\":{p99:.3},\"samples\":{count},\
                 \"batch_medians\":[{}]}}",
                NAMES[s],
                bm[s].join(",")
            );
        }
        drop(p);
        n *= if n < 4096 { 64 } else { 16 };
    }
    drop(to_kid);
    let _ = kid.wait();
}
