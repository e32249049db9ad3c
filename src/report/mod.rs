//! The HTML report of a nightly run: one self-contained page (inline CSS and
//! SVG, no scripts, no external files) a sales leader can open or mail.
//!
//! It is the last output of the nightly job and reads only what the job
//! already computed: the enriched deals, the quarterly forecast and the
//! reliability table of the model that scored them. The page holds a
//! forecast chart, a calibration chart and a table of open deals with their
//! probability, sentiment trend chart, warnings and next action.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::domain::Outcome;
use crate::pipeline::EnrichedDeal;
use crate::predict::{QuarterForecast, Severity};

/// One point of the calibration chart: test deals whose forecast fell in a
/// bin, their mean forecast and the share of them won.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationPoint {
    pub predicted: f64,
    pub observed: f64,
    pub count: usize,
}

/// What the report shows.
pub struct ReportInput<'a> {
    pub as_of: NaiveDate,
    pub deals: &'a [EnrichedDeal],
    pub forecast: &'a [QuarterForecast],
    pub calibration: &'a [CalibrationPoint],
    /// A line about the model, e.g. "gbm #3, trained on 28 closed deals".
    pub model: String,
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
.charts{display:flex;gap:32px;flex-wrap:wrap}\
table{border-collapse:collapse;width:100%}\
th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f3f4f6}td.num{text-align:right;white-space:nowrap}\
.high{color:#b91c1c}.medium{color:#b45309}.low{color:#4b5563}\
.bar{fill:#2563eb}.range{stroke:#111;stroke-width:1.5}.axis{stroke:#999}\
.ideal{stroke:#999;stroke-dasharray:4 3}.dot{fill:#2563eb}.line{fill:none;stroke:#2563eb}\
text{font-size:11px;fill:#333}.muted{color:#6b7280}";

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page. The same input gives the same bytes: the page shows the
/// day scored for, never the time it was written.
pub fn render(input: &ReportInput) -> String {
    let open: Vec<&EnrichedDeal> = {
        let mut open: Vec<&EnrichedDeal> = input
            .deals
            .iter()
            .filter(|d| d.outcome == Outcome::Open)
            .collect();
        open.sort_by(|a, b| {
            let p = |d: &EnrichedDeal| d.win_probability.unwrap_or(-1.0);
            p(b).total_cmp(&p(a)).then(a.id.cmp(&b.id))
        });
        open
    };
    let warned = open.iter().filter(|d| !d.warnings.is_empty()).count();

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Deals as of {day}</title><style>{STYLE}</style></head><body>\n\
         <h1>Deals as of {day}</h1>\n<p>{open} open deals, {warned} with warnings. \
         Model: {model}.</p>\n",
        day = input.as_of,
        open = open.len(),
        model = escape(&input.model),
    );
    html.push_str("<div class=\"charts\">\n<section><h2>Forecast by quarter</h2>\n");
    html.push_str(&forecast_chart(input.forecast));
    html.push_str("</section>\n<section><h2>Calibration</h2>\n");
    html.push_str(&calibration_chart(input.calibration));
    html.push_str("</section>\n</div>\n");

    html.push_str(
        "<h2>Open deals</h2>\n<table><thead><tr><th>Deal</th><th>Account</th><th>Stage</th>\
         <th>Amount</th><th>P(win)</th><th>Sentiment</th><th>Warnings</th>\
         <th>Next action</th><th>Why</th></tr></thead><tbody>\n",
    );
    for deal in &open {
        let warnings: Vec<String> = deal
            .warnings
            .iter()
            .map(|w| {
                let class = match w.severity {
                    Severity::High => "high",
                    Severity::Medium => "medium",
                    Severity::Low => "low",
                };
                format!("<div class=\"{class}\">{}</div>", escape(&w.message))
            })
            .collect();
        let factors: Vec<String> = deal
            .factors
            .iter()
            .map(|f| format!("<div>{}</div>", escape(f)))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"muted\">{}</td></tr>",
            escape(&deal.id),
            escape(&deal.account),
            escape(&deal.stage),
            deal.amount.map_or("-".to_string(), |a| format!("{a:.0}")),
            deal.win_probability
                .map_or("-".to_string(), |p| format!("{:.0}%", p * 100.0)),
            sentiment_chart(deal),
            warnings.concat(),
            escape(&deal.next_action),
            factors.concat(),
        );
    }
    html.push_str("</tbody></table>\n</body></html>\n");
    html
}

/// Bars of expected won revenue per quarter with the 10-90% range as a
/// whisker.
fn forecast_chart(forecast: &[QuarterForecast]) -> String {
    if forecast.is_empty() {
        return "<p class=\"muted\">No open deal has a probability, amount and close date.</p>\n"
            .into();
    }
    let (width, height, left, bottom) = (420.0, 220.0, 60.0, 30.0);
    let top = forecast
        .iter()
        .map(|q| q.p90.max(q.expected))
        .fold(1.0, f64::max);
    let plot_h = height - bottom - 10.0;
    let y = |v: f64| height - bottom - v / top * plot_h;
    let slot = (width - left) / forecast.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"expected won revenue per quarter\">\
         <line class=\"axis\" x1=\"{left}\" y1=\"{b}\" x2=\"{width}\" y2=\"{b}\"/>\
         <text x=\"2\" y=\"{t}\">{top:.0}</text><text x=\"2\" y=\"{b}\">0</text>",
        b = height - bottom,
        t = y(top) + 10.0,
    );
    for (i, q) in forecast.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.2;
        let w = slot * 0.6;
        let cx = x + w / 2.0;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\">\
             <title>{}: expected {:.0}, 10-90% {:.0}-{:.0}, {} deals</title></rect>\
             <line class=\"range\" x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
            y(q.expected),
            (q.expected / top * plot_h).max(0.0),
            q.quarter,
            q.expected,
            q.p10,
            q.p90,
            q.deals,
            y(q.p10),
            y(q.p90),
            height - 12.0,
            q.quarter,
        );
    }
    svg.push_str(
        "</svg>\n<p class=\"muted\">Bars: expected won revenue; lines: 10-90% \
                  range.</p>\n",
    );
    svg
}

/// Mean forecast against share won per bin, dot size by deal count, with
/// the diagonal a perfectly calibrated model would sit on.
fn calibration_chart(points: &[CalibrationPoint]) -> String {
    if points.is_empty() {
        return "<p class=\"muted\">No time-split validation for this model yet.</p>\n".into();
    }
    let (size, pad) = (220.0, 30.0);
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let flip = |v: f64| size - scale(v);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
         role=\"img\" aria-label=\"calibration\">\
         <line class=\"axis\" x1=\"{a}\" y1=\"{b}\" x2=\"{c}\" y2=\"{b}\"/>\
         <line class=\"axis\" x1=\"{a}\" y1=\"{b}\" x2=\"{a}\" y2=\"{d}\"/>\
         <line class=\"ideal\" x1=\"{a}\" y1=\"{b}\" x2=\"{c}\" y2=\"{d}\"/>\
         <text x=\"{a}\" y=\"{e}\">forecast</text><text x=\"2\" y=\"{d}\">won</text>",
        a = scale(0.0),
        b = flip(0.0),
        c = scale(1.0),
        d = flip(1.0),
        e = size - 8.0,
    );
    for p in points {
        let r = 2.0 + (p.count as f64).sqrt() * 1.5;
        let _ = write!(
            svg,
            "<circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r:.1}\">\
             <title>forecast {:.2}, won {:.2}, {} deals</title></circle>",
            scale(p.predicted),
            flip(p.observed),
            p.predicted,
            p.observed,
            p.count
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A small line chart of a deal's message sentiment (-1..1) over time.
fn sentiment_chart(deal: &EnrichedDeal) -> String {
    let series = &deal.sentiment_series;
    if series.len() < 2 {
        return "<span class=\"muted\">-</span>".into();
    }
    let (w, h) = (120.0, 32.0);
    let first = series[0].0.timestamp() as f64;
    let span = (series[series.len() - 1].0.timestamp() as f64 - first).max(1.0);
    let points: Vec<String> = series
        .iter()
        .map(|(t, s)| {
            let x = 2.0 + (t.timestamp() as f64 - first) / span * (w - 4.0);
            let y = h / 2.0 - f64::from(*s).clamp(-1.0, 1.0) * (h / 2.0 - 2.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let trend = deal
        .sentiment_trend
        .map_or(String::new(), |t| format!("trend {t:+.2} per 30 days"));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"sentiment\"><line class=\"axis\" x1=\"0\" y1=\"{m}\" x2=\"{w}\" \
         y2=\"{m}\"/><polyline class=\"line\" points=\"{}\"/><title>{trend}</title></svg>",
        points.join(" "),
        m = h / 2.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn empty_report_is_a_complete_page_without_external_assets() {
        let page = render(&ReportInput {
            as_of: NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
            deals: &[],
            forecast: &[],
            calibration: &[CalibrationPoint {
                predicted: 0.3,
                observed: 0.25,
                count: 4,
            }],
            model: "none <yet>".into(),
        });
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(page.contains("none &lt;yet&gt;"));
        assert!(page.contains("<circle"), "calibration point drawn");
        for external in ["src=", "href=", "<script", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }
}
