//! The trace picture opened in headless Chromium (Debian's `chromium`, installed by `.ci/run`;
//! `CHROMIUM` names another binary), as an officer would open it: the SVG file alone parses
//! (no XML error page), and inlined in a page it renders with a non-zero size, no error, one
//! box per node and every line of text inside its box in the font the browser really uses.
//! The test fails, never skips, when Chromium cannot start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use db::Backend;
use trace::Limits;
use trace::render::svg;

use crate::support::{fixture, scenario};

const CAVIAR_TIN: &str = "urn:cites:tin:IT-0001:24RU000123:0001";

const MEASURE: &str = "<pre id=\"probe\"></pre><script>(function(){\
var errors=window.__errors||[];var s=document.querySelector('svg');var r=s.getBoundingClientRect();\
var boxes=Array.prototype.map.call(document.querySelectorAll('g.node'),function(g){\
var b=g.querySelector('rect').getBBox();var t=g.querySelector('text').getBBox();\
return {key:g.getAttribute('data-key'),fits:t.x>=b.x-1&&t.y>=b.y-1&&t.x+t.width<=b.x+b.width+1&&t.y+t.height<=b.y+b.height+1,\
text:t.width}});\
document.getElementById('probe').textContent=JSON.stringify({errors:errors,width:r.width,height:r.height,boxes:boxes});})();</script>";

const LISTEN: &str = "<script>window.__errors=[];\
window.addEventListener('error',function(e){window.__errors.push('error: '+(e.message||'?'))},true);\
</script>";

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

/// Chromium's DOM of `page` once loaded; fails if it cannot start, fails, or takes over two
/// minutes.
fn dump_dom(page: &std::path::Path, dir: &std::path::Path) -> String {
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1600,1200",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap_or_else(|e| panic!("chromium ({}) could not start: {e}", chromium()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(err_path).unwrap();
    assert!(status.success(), "chromium failed: {status}\n{stderr}");
    std::fs::read_to_string(out_path).unwrap()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_trace_picture_opens_in_chromium_with_every_text_inside_its_box() {
    let f = fixture(Backend::Sqlite).await;
    f.register
        .ingest(&scenario("caviar"), "caviar")
        .await
        .unwrap();
    let o = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    let picture = svg::render(&o.view()).unwrap();
    f.t.drop_db().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The file alone, as an officer opens it: an XML error would show as a parsererror page.
    let file = dir.path().join("origin.svg");
    std::fs::write(&file, &picture).unwrap();
    let dom = dump_dom(&file, dir.path());
    assert!(dom.contains("<svg"), "{dom}");
    assert!(!dom.contains("parsererror"), "{dom}");

    // Inlined in a page, measured.
    let page = dir.path().join("origin.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">{LISTEN}</head><body>{picture}{MEASURE}</body></html>"
        ),
    )
    .unwrap();
    let dom = dump_dom(&page, dir.path());
    let start = dom
        .find("<pre id=\"probe\">")
        .expect("the probe did not run")
        + 16;
    let end = start + dom[start..].find("</pre>").unwrap();
    let probe: serde_json::Value = serde_json::from_str(&unescape(&dom[start..end])).unwrap();
    assert_eq!(probe["errors"], serde_json::json!([]));
    assert!(probe["width"].as_f64().unwrap() > 200.0, "{probe}");
    assert!(probe["height"].as_f64().unwrap() > 100.0, "{probe}");
    let boxes = probe["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), o.nodes.len());
    for b in boxes {
        assert!(b["text"].as_f64().unwrap() > 0.0, "{b}");
        assert_eq!(b["fits"], true, "text outside its box: {b}");
    }
}
