//! Where the time went: a run's journal as bars (each chunk's upload, import, look-ups,
//! pause and blocked time), its throughput over time, and the pacer's decisions; drawn
//! as inline SVG, one lane per run (per app in a migration).
//!
//! Only the events' names, their `at` and `chunk`, the final counts and the pacer's
//! decision (pause, verdict, reason) are read.

use std::collections::HashMap;
use std::fmt::Write;

use elma_import_runner::event::Event;

use crate::html::{count, esc, secs};

/// What a bar stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Sending the chunk's file.
    Upload,
    /// From the start request to the platform's final answer.
    Import,
    /// An import that ended `failed`, stalled, or with its answer lost.
    Failed,
    /// The start answered `blocked`: waiting until it is sent again.
    Blocked,
    /// Looking the chunk's rows up among the app's items.
    Settle,
    /// Between the end of one import and the start of the next.
    Pause,
    /// A migration step mapping its reference keys to ids.
    Resolve,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Upload => "b up",
            Kind::Import => "b imp",
            Kind::Failed => "b imp fail",
            Kind::Blocked => "b blk",
            Kind::Settle => "b settle",
            Kind::Pause => "b pause",
            Kind::Resolve => "b resolve",
        }
    }
}

/// One bar.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub kind: Kind,
    /// The chunk, 1-based.
    pub chunk: Option<u32>,
    pub start: f64,
    pub end: f64,
    pub note: String,
}

/// A throughput reading: rows per second of a chunk's import, at its end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub at: f64,
    pub rows_per_sec: f64,
}

/// One decision of `--pause auto`.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub at: f64,
    pub chunk: u32,
    pub pause: f64,
    pub verdict: String,
    pub reason: String,
}

/// One run's lane.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lane {
    pub label: String,
    pub bars: Vec<Bar>,
    /// Interruptions and other moments, with what happened.
    pub marks: Vec<(f64, String)>,
    pub points: Vec<Point>,
    pub decisions: Vec<Decision>,
    /// Chunks prepared (from `prepared`).
    pub chunks: Option<u32>,
    /// Chunks whose import gave a final answer.
    pub finished: u32,
    pub completed: bool,
    pub interrupted: bool,
    pub first: Option<f64>,
    pub last: Option<f64>,
    /// The last event's name.
    pub last_event: String,
    pub blocked_answers: u32,
}

/// The event's name and time, as journaled (read through its JSON, so events added
/// later need no change here).
fn name_and_at(e: &Event) -> (String, f64) {
    let v = serde_json::to_value(e).unwrap_or_default();
    let name = v.get("event").and_then(|n| n.as_str()).unwrap_or("").to_string();
    (name, v.get("at").and_then(serde_json::Value::as_f64).unwrap_or(0.0))
}

/// The lane of one run's journal.
pub(crate) fn lane(label: &str, events: &[Event]) -> Lane {
    let mut lane = Lane { label: label.to_string(), ..Lane::default() };
    let mut upload: HashMap<u32, f64> = HashMap::new();
    let mut sent: HashMap<u32, f64> = HashMap::new();
    let mut blocked: HashMap<u32, f64> = HashMap::new();
    let mut ended: HashMap<u32, f64> = HashMap::new();
    let mut pause_from: Option<(u32, f64)> = None;
    let mut paced: HashMap<u32, String> = HashMap::new();
    for e in events {
        let (name, at) = name_and_at(e);
        lane.first = Some(lane.first.map_or(at, |f: f64| f.min(at)));
        lane.last = Some(lane.last.map_or(at, |l: f64| l.max(at)));
        lane.last_event = name.clone();
        let mut bar = |kind, chunk: u32, start: f64, note: String| {
            lane.bars.push(Bar { kind, chunk: Some(chunk + 1), start, end: at.max(start), note });
        };
        match e {
            Event::Prepared { chunks, .. } => lane.chunks = Some(*chunks),
            Event::UploadBegin { chunk, .. } => {
                upload.insert(chunk.0, at);
            }
            Event::Uploaded { chunk, .. } => {
                if let Some(s) = upload.remove(&chunk.0) {
                    bar(
                        Kind::Upload,
                        chunk.0,
                        s,
                        format!("chunk {}: upload {}", chunk.number(), secs(at - s)),
                    );
                }
            }
            Event::UploadExpired { chunk, .. } => {
                upload.remove(&chunk.0);
            }
            Event::StartSent { chunk, .. } => {
                if let Some(b) = blocked.remove(&chunk.0) {
                    bar(
                        Kind::Blocked,
                        chunk.0,
                        b,
                        format!("chunk {}: blocked by another import {}", chunk.number(), secs(at - b)),
                    );
                }
                if let Some((c, from)) = pause_from.take() {
                    let why = paced.get(&c).map(|r| format!(" ({r})")).unwrap_or_default();
                    bar(
                        Kind::Pause,
                        c,
                        from,
                        format!("after chunk {}: pause {}{why}", c + 1, secs(at - from)),
                    );
                }
                sent.insert(chunk.0, at);
            }
            Event::Blocked { chunk, .. } => {
                lane.blocked_answers += 1;
                sent.remove(&chunk.0);
                blocked.entry(chunk.0).or_insert(at);
            }
            Event::StartRefused { chunk, .. } | Event::StartFailed { chunk, .. } => {
                sent.remove(&chunk.0);
            }
            Event::FailedEarly { chunk, .. }
            | Event::Stalled { chunk, .. }
            | Event::Uncertain { chunk, .. } => {
                let s = sent.remove(&chunk.0).unwrap_or(at);
                let what = name.replace('_', " ");
                bar(
                    Kind::Failed,
                    chunk.0,
                    s,
                    format!("chunk {}: import {}, {what}", chunk.number(), secs(at - s)),
                );
                lane.marks.push((at, format!("chunk {}: {what}", chunk.number())));
            }
            Event::Finished { chunk, status, imported, failed, .. } => {
                let s = sent.remove(&chunk.0).unwrap_or(at);
                let rows = imported + failed;
                let took = at - s;
                let rate = if took > 0.0 { rows as f64 / took } else { 0.0 };
                let kind = if status.to_string() == "done" { Kind::Import } else { Kind::Failed };
                bar(
                    kind,
                    chunk.0,
                    s,
                    format!(
                        "chunk {}: import {}, {status}, {} imported, {} failed, {:.0} rows/s",
                        chunk.number(),
                        secs(took),
                        count(*imported),
                        count(*failed),
                        rate
                    ),
                );
                if took > 0.0 && rows > 0 {
                    lane.points.push(Point { at, rows_per_sec: rate });
                }
                lane.finished += 1;
                ended.insert(chunk.0, at);
                pause_from = Some((chunk.0, at));
            }
            Event::Reconciled { chunk, .. } => {
                if let Some(end) = ended.remove(&chunk.0) {
                    if at - end > 0.05 {
                        bar(
                            Kind::Settle,
                            chunk.0,
                            end,
                            format!("chunk {}: rows looked up {}", chunk.number(), secs(at - end)),
                        );
                    }
                }
                pause_from = Some((chunk.0, at));
            }
            Event::Paced { chunk, decision, .. } => {
                let reason = decision.reason();
                paced.insert(chunk.0, reason.clone());
                lane.decisions.push(Decision {
                    at,
                    chunk: chunk.number(),
                    pause: decision.pause.as_secs_f64(),
                    verdict: decision.verdict.as_str().to_string(),
                    reason,
                });
            }
            Event::Interrupted { .. } => {
                lane.interrupted = true;
                for (c, b) in blocked.drain() {
                    lane.bars.push(Bar {
                        kind: Kind::Blocked,
                        chunk: Some(c + 1),
                        start: b,
                        end: at,
                        note: format!("chunk {}: blocked {} (interrupted)", c + 1, secs(at - b)),
                    });
                }
                pause_from = None;
                lane.marks.push((at, "interrupted (Ctrl-C)".into()));
            }
            Event::Completed { .. } => {
                lane.completed = true;
                lane.interrupted = false;
                pause_from = None;
            }
            _ => {}
        }
    }
    lane
}

/// A tick step of about a tenth of `span` seconds, on a round value.
fn tick_step(span: f64) -> f64 {
    const STEPS: [f64; 16] = [
        0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        21600.0,
    ];
    STEPS.iter().copied().find(|s| span / s <= 10.0).unwrap_or(86400.0)
}

fn tick_label(t: f64) -> String {
    if t.fract().abs() > 1e-6 && t < 60.0 {
        return format!("{t:.1}s");
    }
    let t = t.round() as u64;
    match t {
        0 => "0".into(),
        t if t < 60 => format!("{t}s"),
        t if t < 3600 && t % 60 == 0 => format!("{}m", t / 60),
        t if t < 3600 => format!("{}m{}s", t / 60, t % 60),
        t if t % 3600 == 0 => format!("{}h", t / 3600),
        t => format!("{}h{}m", t / 3600, (t % 3600) / 60),
    }
}

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 150.0;
const RIGHT: f64 = 10.0;
const LANE: f64 = 34.0;
const AXIS: f64 = 22.0;

/// The time span of `lanes`: first and last moment.
pub(crate) fn span(lanes: &[Lane]) -> Option<(f64, f64)> {
    let first = lanes.iter().filter_map(|l| l.first).reduce(f64::min)?;
    let last = lanes.iter().filter_map(|l| l.last).reduce(f64::max)?;
    Some((first, last.max(first + 0.001)))
}

fn axis(out: &mut String, t0: f64, t1: f64, top: f64, bottom: f64) {
    let plot = WIDTH - LABEL - RIGHT;
    let step = tick_step(t1 - t0);
    let _ = write!(out, "<g class=\"axis\">");
    let mut t = 0.0;
    while t <= t1 - t0 + 1e-9 {
        let x = LABEL + plot * t / (t1 - t0);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            tick_label(t)
        );
        t += step;
    }
    out.push_str("</g>");
}

/// The timeline: one lane per run, chunk bars on it (uploads in a thin row above).
/// Import bars carry `data-chunk` (1-based).
pub(crate) fn svg(lanes: &[Lane]) -> String {
    let Some((t0, t1)) = span(lanes) else {
        return "<p class=\"muted\">Nothing was sent: the journal holds no import.</p>\n".into();
    };
    let plot = WIDTH - LABEL - RIGHT;
    let x = |t: f64| LABEL + plot * (t - t0) / (t1 - t0);
    let height = LANE * lanes.len() as f64 + AXIS + 6.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"timeline\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-label=\"timeline of the chunks\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    out.push('\n');
    axis(&mut out, t0, t1, 0.0, LANE * lanes.len() as f64);
    for (i, lane) in lanes.iter().enumerate() {
        let top = LANE * i as f64;
        let _ = write!(
            out,
            "<g class=\"lane\"><rect class=\"lane-bg\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{plot:.1}\" height=\"{:.1}\"/><text x=\"4\" y=\"{:.1}\">{}</text>",
            top + 2.0,
            LANE - 4.0,
            top + LANE / 2.0 + 4.0,
            esc(&lane.label)
        );
        out.push('\n');
        for b in &lane.bars {
            let (y, h) = if b.kind == Kind::Upload { (top + 3.0, 7.0) } else { (top + 12.0, LANE - 16.0) };
            let x0 = x(b.start);
            let w = (x(b.end) - x0).max(0.6);
            let chunk = match (b.kind, b.chunk) {
                (Kind::Import | Kind::Failed, Some(c)) => format!(" data-chunk=\"{c}\""),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "<rect class=\"{}\" x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{h:.1}\"{chunk}><title>{}</title></rect>",
                b.kind.class(),
                esc(&b.note)
            );
        }
        for (at, what) in &lane.marks {
            let mx = x(*at);
            let _ = writeln!(
                out,
                "<g class=\"mark\"><line x1=\"{mx:.2}\" y1=\"{:.1}\" x2=\"{mx:.2}\" y2=\"{:.1}\"/><title>{}</title></g>",
                top + 1.0,
                top + LANE - 1.0,
                esc(what)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// The legend of the timeline's colours.
pub(crate) fn legend() -> &'static str {
    "<p class=\"legend\"><span><i style=\"background:var(--upload)\"></i>upload</span>\
     <span><i style=\"background:var(--import)\"></i>import</span>\
     <span><i style=\"background:var(--bad)\"></i>import failed, stalled or lost</span>\
     <span><i style=\"background:var(--settle)\"></i>rows looked up</span>\
     <span><i style=\"background:var(--pause)\"></i>pause</span>\
     <span><i style=\"background:var(--blocked)\"></i>blocked by another import</span>\
     <span><i style=\"background:var(--resolve)\"></i>references resolved</span></p>\n"
}

const COLOURS: [&str; 6] = ["#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#12b5cb"];

/// Rows per second of each import at its end, one line per lane; the pause the pacer
/// chose, when it chose one, on the right-hand scale.
pub(crate) fn throughput(lanes: &[Lane]) -> String {
    let Some((t0, t1)) = span(lanes) else { return String::new() };
    if lanes.iter().all(|l| l.points.is_empty()) {
        return "<p class=\"muted\">No import finished with rows: no throughput to show.</p>\n".into();
    }
    let plot = WIDTH - LABEL - RIGHT;
    let (h, pad) = (160.0, 10.0);
    let x = |t: f64| LABEL + plot * (t - t0) / (t1 - t0);
    let top_rate =
        lanes.iter().flat_map(|l| l.points.iter()).map(|p| p.rows_per_sec).fold(1.0, f64::max) * 1.1;
    let top_pause = lanes.iter().flat_map(|l| l.decisions.iter()).map(|d| d.pause).fold(0.0, f64::max) * 1.1;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"throughput\" viewBox=\"0 {:.0} {WIDTH} {:.0}\" role=\"img\" aria-label=\"rows per second of each import\" xmlns=\"http://www.w3.org/2000/svg\">",
        -pad,
        h + AXIS + 6.0 + pad
    );
    out.push('\n');
    axis(&mut out, t0, t1, 0.0, h);
    out.push_str("<g class=\"axis\">");
    for k in 0..=4 {
        let v = top_rate * f64::from(k) / 4.0;
        let y = h - h * f64::from(k) / 4.0;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0} rows/s</text>",
            LABEL - 6.0,
            y + 4.0,
            v
        );
        if top_pause > 0.0 {
            let p = top_pause * f64::from(k) / 4.0;
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"muted\">{}</text>",
                WIDTH - RIGHT,
                y - 2.0,
                esc(&format!("pause {}", secs(p)))
            );
        }
    }
    out.push_str("</g>\n");
    for (i, lane) in lanes.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = lane
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.at), h - h * p.rows_per_sec / top_rate))
            .collect();
        let _ = writeln!(
            out,
            "<polyline class=\"tp\" stroke=\"{colour}\" points=\"{}\"><title>{}</title></polyline>",
            points.join(" "),
            esc(&lane.label)
        );
        for p in &lane.points {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.2\" fill=\"{colour}\"><title>{}: {:.0} rows/s</title></circle>",
                x(p.at),
                h - h * p.rows_per_sec / top_rate,
                esc(&lane.label),
                p.rows_per_sec
            );
        }
        if top_pause > 0.0 && !lane.decisions.is_empty() {
            let steps: Vec<String> = lane
                .decisions
                .iter()
                .map(|d| format!("{:.1},{:.1}", x(d.at), h - h * d.pause / top_pause))
                .collect();
            let _ = writeln!(
                out,
                "<polyline class=\"pace\" points=\"{}\"><title>pause chosen</title></polyline>",
                steps.join(" ")
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Most pacer decisions listed (the chart shows them all).
const DECISIONS_SHOWN: usize = 1_000;

/// The pacer's decisions as a table, or a sentence when the pause was fixed.
pub(crate) fn decisions(lanes: &[Lane]) -> String {
    let all: Vec<(&Lane, &Decision)> =
        lanes.iter().flat_map(|l| l.decisions.iter().map(move |d| (l, d))).collect();
    if all.is_empty() {
        return "<p class=\"muted\">The pause between imports was fixed (no <code>--pause auto</code>): no pacer decisions.</p>\n".into();
    }
    let many = lanes.len() > 1;
    let mut out = String::from("<details><summary>The pacer's decisions (");
    let _ = write!(
        out,
        "{})</summary>\n<div class=\"scroll\"><table id=\"pacer\" class=\"data sortable-table\"><thead><tr>",
        count(all.len() as u64)
    );
    if many {
        out.push_str("<th>run</th>");
    }
    out.push_str("<th class=\"n\">chunk</th><th>at</th><th class=\"n\">pause</th><th>verdict</th><th>reason</th></tr></thead><tbody>\n");
    let t0 = span(lanes).map_or(0.0, |s| s.0);
    for (lane, d) in all.iter().take(DECISIONS_SHOWN) {
        out.push_str("<tr>");
        if many {
            let _ = write!(out, "<td>{}</td>", esc(&lane.label));
        }
        let _ = writeln!(
            out,
            "<td class=\"n\">{}</td><td>+{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            d.chunk,
            esc(&secs(d.at - t0)),
            esc(&secs(d.pause)),
            esc(&d.verdict),
            esc(&d.reason)
        );
    }
    out.push_str("</tbody></table></div>");
    if all.len() > DECISIONS_SHOWN {
        let _ = write!(
            out,
            "<p class=\"note\">The first {} of {} decisions; the journal has them all.</p>",
            count(DECISIONS_SHOWN as u64),
            count(all.len() as u64)
        );
    }
    out.push_str("</details>\n");
    out
}

/// Seconds by kind of bar over `lanes` (uploads overlap imports; shown apart).
pub(crate) fn totals(lanes: &[Lane]) -> Vec<(&'static str, f64)> {
    let sum = |k: Kind| {
        lanes.iter().flat_map(|l| l.bars.iter()).filter(|b| b.kind == k).map(|b| b.end - b.start).sum::<f64>()
    };
    vec![
        ("uploads", sum(Kind::Upload)),
        ("imports", sum(Kind::Import) + sum(Kind::Failed)),
        ("rows looked up", sum(Kind::Settle)),
        ("pauses", sum(Kind::Pause)),
        ("blocked", sum(Kind::Blocked)),
        ("references resolved", sum(Kind::Resolve)),
    ]
}
