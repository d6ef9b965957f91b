//! Reading every input format gives the same rows; Parquet files as HF datasets writes them are
//! read directly, and bad rows name file, line and field.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use valley_data::io::{FieldMap, RowReader, read_records};
use valley_types::Trace;

fn write_parquet(path: &Path, ids: &[i64], questions: &[&str], outputs: &[Option<&str>]) {
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        ("question", Arc::new(StringArray::from(questions.to_vec())) as ArrayRef),
        ("output", Arc::new(StringArray::from(outputs.to_vec())) as ArrayRef),
        ("correct", Arc::new(BooleanArray::from(vec![true; ids.len()])) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_rows_decode_with_field_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-00000-of-00001.parquet");
    let n = 600; // more than one record batch
    let ids: Vec<i64> = (0..n).collect();
    let qs: Vec<String> = (0..n).map(|i| format!("q{i} ü \"quoted\"\n")).collect();
    let q_refs: Vec<&str> = qs.iter().map(String::as_str).collect();
    let outs: Vec<Option<&str>> =
        (0..n).map(|_| Some("<think>x</think>```python\nprint(1)\n```")).collect();
    write_parquet(&path, &ids, &q_refs, &outs);
    let fields = FieldMap::parse(&["response=output"]).unwrap();
    let rows: Vec<(u64, Trace)> =
        read_records::<Trace>(&path, &fields).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), n as usize);
    assert_eq!(rows[0].0, 1);
    assert_eq!(rows[599].0, 600);
    assert_eq!(rows[599].1.id, "599");
    assert_eq!(rows[3].1.question, "q3 ü \"quoted\"\n");
    assert_eq!(rows[3].1.correct, Some(true));
    assert!(rows[3].1.response.starts_with("<think>"));
    // the file's hash is known once it is read
    let mut r = RowReader::open(&path).unwrap();
    assert!(r.sha256().is_none());
    assert_eq!(r.by_ref().count(), n as usize);
    assert_eq!(r.sha256().unwrap().len(), 64);
}

#[test]
fn parquet_null_names_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    write_parquet(&path, &[1, 2, 3], &["a", "b", "c"], &[Some("r"), Some("r"), None]);
    let fields = FieldMap::parse(&["response=output"]).unwrap();
    let err = read_records::<Trace>(&path, &fields)
        .unwrap()
        .find_map(Result::err)
        .expect("row 3 has no response");
    let msg = format!(
        "{err}: {}",
        std::error::Error::source(&err).map(|e| e.to_string()).unwrap_or_default()
    );
    assert!(msg.contains("bad.parquet:3"), "{msg}");
    assert!(msg.contains("response"), "{msg}");
    assert!(msg.contains("column `output`"), "{msg}");
}

#[test]
fn streaming_keeps_memory_flat_on_many_rows() {
    // 150K rows, streamed: the reader holds one row at a time.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl.zst");
    let mut w = valley_data::io::StagedFile::create(&path).unwrap();
    for i in 0..150_000 {
        w.write_record(&serde_json::json!({"id": i, "question": "q", "response": "r"})).unwrap();
    }
    w.commit().unwrap();
    let mut n = 0u64;
    for row in read_records::<Trace>(&path, &FieldMap::default()).unwrap() {
        let (line, t) = row.unwrap();
        n += 1;
        assert_eq!(line, n);
        assert_eq!(t.id, (n - 1).to_string());
    }
    assert_eq!(n, 150_000);
}
