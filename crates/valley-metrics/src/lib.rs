//! Pure metric functions over valley records: pass@k, completion rate, think-tag rate, and their
//! confidence intervals. No I/O.
