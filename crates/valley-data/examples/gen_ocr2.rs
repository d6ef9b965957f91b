//! Writes a synthetic OpenCodeReasoning-2-shaped Parquet file (the 14 string columns of the
//! published `train` config) and the source splits it refers to, for `bench/import_ocr2.sh`.
//!
//! Field sizes follow the published split: 72.3 GB over 1,398,166 `python` rows is ~52 KB a row
//! (the card's `num_bytes`); here `r1_generation` is log-normal with a median of 24,000
//! characters, `qwq_critique` 9,000 and `solution` 1,500, which averages ~45 KB a row. Questions
//! are `"-"`; 35,000 distinct `question_id`s (the card counts 34,799) spread over TACO, APPS,
//! CodeContests and open-r1's Codeforces at their real split sizes, each source row ~2 KB. Text is
//! drawn from a fixed vocabulary, so the file compresses about as real reasoning text does.
//! Same arguments, same bytes.
//!
//! ```text
//! cargo run --release -p valley-data --example gen_ocr2 -- --rows 1000000 --out /tmp/ocr2-bench
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use valley_metrics::SplitMix64;

const QUESTIONS: u64 = 35_000;
/// (dataset, split, rows, share of questions in percent)
const SOURCES: [(&str, &str, u64, u64); 4] = [
    ("taco", "train", 25_443, 40),
    ("apps", "train", 5_000, 15),
    ("code_contests", "train", 13_328, 25),
    ("open-r1/codeforces", "train", 9_556, 20),
];
const COLUMNS: [&str; 14] = [
    "question",
    "r1_generation",
    "qwq_critique",
    "solution",
    "judgement",
    "pass_rate",
    "source",
    "license",
    "dataset",
    "split",
    "difficulty",
    "index",
    "id",
    "question_id",
];

/// valley's one seeded generator, with the draws this generator needs.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Log-normal with the given median and sigma.
    fn lognormal(&mut self, median: f64, sigma: f64) -> usize {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median * (sigma * z).exp()) as usize
    }
}

struct Text {
    words: Vec<String>,
}

impl Text {
    fn new(rng: &mut Rng) -> Self {
        let letters = b"etaoinshrdlcumwfgypbvkjxqz";
        let words = (0..4096)
            .map(|_| {
                let len = 2 + rng.below(8) as usize;
                (0..len)
                    .map(|_| letters[rng.below(letters.len() as u64) as usize] as char)
                    .collect()
            })
            .collect();
        Self { words }
    }
    fn fill(&self, rng: &mut Rng, chars: usize, out: &mut String) {
        out.clear();
        while out.len() < chars {
            // Zipf-ish: small indices far more often
            let i = (rng.unit().powi(3) * self.words.len() as f64) as usize;
            out.push_str(&self.words[i.min(self.words.len() - 1)]);
            out.push(if rng.below(12) == 0 { '\n' } else { ' ' });
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let rows: u64 = arg("--rows").map_or(Ok(1_000_000), |s| s.parse())?;
    let out = PathBuf::from(arg("--out").ok_or("--out DIR is required")?);
    std::fs::create_dir_all(out.join("sources"))?;
    let mut rng = Rng(SplitMix64(2025));
    let text = Text::new(&mut rng);
    let mut buf = String::new();

    // Source splits: one JSON Lines file each, ~2 KB of question per row.
    for (dataset, split, n, _) in SOURCES {
        let name = format!("{}-{split}.jsonl", dataset.replace('/', "_"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("sources").join(name))?);
        for _ in 0..n {
            let len = rng.lognormal(1800.0, 0.5);
            text.fill(&mut rng, len, &mut buf);
            let row = match dataset {
                "code_contests" => serde_json::json!({"description": buf, "difficulty": 7}),
                "open-r1/codeforces" => serde_json::json!({
                    "description": buf, "input_format": "n", "output_format": "x",
                    "examples": [{"input": "1\n", "output": "2\n"}], "note": null, "rating": 1600}),
                _ => {
                    serde_json::json!({"question": buf, "difficulty": "MEDIUM", "solutions": "[]"})
                }
            };
            serde_json::to_writer(&mut f, &row)?;
            f.write_all(b"\n")?;
        }
    }

    // The questions: each a fixed source reference.
    let refs: Vec<(usize, u64)> = (0..QUESTIONS)
        .map(|q| {
            let pick = q * 100 / QUESTIONS;
            let mut acc = 0;
            let s = SOURCES.iter().position(|s| {
                acc += s.3;
                pick < acc
            });
            let s = s.unwrap_or(0);
            (s, rng.below(SOURCES[s].2))
        })
        .collect();

    let schema = Arc::new(arrow_schema::Schema::new(
        COLUMNS
            .iter()
            .map(|c| arrow_schema::Field::new(*c, arrow_schema::DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(1024))
        .build();
    let file = std::fs::File::create(out.join("ocr2-python.parquet"))?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let batch = 1024u64;
    let mut done = 0u64;
    while done < rows {
        let n = batch.min(rows - done);
        let mut cols: Vec<Vec<String>> = vec![Vec::with_capacity(n as usize); COLUMNS.len()];
        for r in 0..n {
            let q = rng.below(QUESTIONS);
            let (s, index) = refs[q as usize];
            let (dataset, split, _, _) = SOURCES[s];
            let len = rng.lognormal(24_000.0, 0.6);
            text.fill(&mut rng, len, &mut buf);
            let r1 = format!("<think>\n{buf}\n</think>\n```python\nprint(0)\n```\n");
            let len = rng.lognormal(9_000.0, 0.6);
            text.fill(&mut rng, len, &mut buf);
            let critique = buf.clone();
            let len = rng.lognormal(1_500.0, 0.5);
            text.fill(&mut rng, len, &mut buf);
            let solution = buf.clone();
            let values = [
                "-".to_owned(),
                r1,
                critique,
                solution,
                if rng.below(4) == 0 { "wrong".into() } else { "right".into() },
                format!("{:.2}", rng.unit()),
                "codeforces".into(),
                "cc-by-4.0".into(),
                dataset.into(),
                split.into(),
                "MEDIUM".into(),
                index.to_string(),
                format!("{:032x}", u128::from(done + r) * 0x9e37_79b9_7f4a_7c15_u128),
                format!("{q:032x}"),
            ];
            for (c, v) in cols.iter_mut().zip(values) {
                c.push(v);
            }
        }
        let arrays: Vec<ArrayRef> =
            cols.into_iter().map(|c| Arc::new(StringArray::from(c)) as ArrayRef).collect();
        w.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        done += n;
        if done.is_multiple_of(100 * batch) {
            progress(&format!("{done} rows"));
        }
    }
    w.close()?;
    progress(&format!("wrote {rows} rows into {}", out.display()));
    Ok(())
}

#[expect(clippy::print_stderr, reason = "the generator's progress, on stderr")]
fn progress(line: &str) {
    eprintln!("{line}");
}
