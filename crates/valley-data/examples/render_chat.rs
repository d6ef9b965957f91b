//! Renders conversations with a model's tokenizer and chat template, for comparison with HF
//! transformers (`scripts/check_templates.py`).
//!
//! Reads JSON Lines on stdin, one `{"id", "messages": [{"role", "content"}, …]}` per line, and
//! writes one `{"id", "text", "input_ids", "loss_mask", "prompt_text"}` per line on stdout, where
//! `prompt_text` is the conversation without its last message and with the generation prompt.
//! A row that fails to render gets an `error` field instead.
//!
//!     cargo run -p valley-data --example render_chat -- TOKENIZER [CHAT_TEMPLATE] < in.jsonl

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use serde::Deserialize;
use valley_data::chat::{ChatTokenizer, Message};

#[derive(Deserialize)]
struct Row {
    id: serde_json::Value,
    messages: Vec<Message>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let tokenizer =
        PathBuf::from(args.next().ok_or("usage: render_chat TOKENIZER [CHAT_TEMPLATE]")?);
    let template = args.next().map(PathBuf::from);
    let tok = ChatTokenizer::load(&tokenizer, template.as_deref())?;

    let rows: Vec<Row> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| Ok::<_, Box<dyn std::error::Error>>(serde_json::from_str(&l?)?))
        .collect::<Result<_, _>>()?;
    let batch: Vec<Vec<Message>> = rows.iter().map(|r| r.messages.clone()).collect();
    let rendered = tok.render_batch(&batch);

    let mut out = BufWriter::new(std::io::stdout().lock());
    for ((row, messages), result) in rows.iter().zip(&batch).zip(rendered) {
        let prompt = tok.render_text(&messages[..messages.len().saturating_sub(1)], true);
        let value = match (result, prompt) {
            (Ok(r), Ok(prompt)) => serde_json::json!({
                "id": row.id, "text": r.text, "input_ids": r.input_ids, "loss_mask": r.loss_mask,
                "prompt_text": prompt,
            }),
            (Err(e), _) | (_, Err(e)) => {
                serde_json::json!({"id": row.id, "error": error_chain(&e)})
            }
        };
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
