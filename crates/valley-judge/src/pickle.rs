//! A deliberately tiny unpickler: LiveCodeBench's lite dataset stores private tests as
//! base64(zlib(pickle(str))). Only a pickled `str` is accepted, so no pickle can run code.

/// Why a payload is not a pickled string.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PickleError {
    #[error("truncated pickle")]
    Truncated,
    #[error("unsupported pickle opcode 0x{0:02x} (only a pickled string is accepted)")]
    Opcode(u8),
    #[error("pickled string is not UTF-8")]
    Utf8,
    #[error("pickle holds no string")]
    Empty,
}

/// Reads the one `str` a pickle holds (protocols 0-5 binary string opcodes only).
pub(crate) fn unpickle_str(data: &[u8]) -> Result<String, PickleError> {
    let mut pos = 0;
    let mut value: Option<String> = None;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], PickleError> {
        let end = pos.checked_add(n).ok_or(PickleError::Truncated)?;
        let s = data.get(*pos..end).ok_or(PickleError::Truncated)?;
        *pos = end;
        Ok(s)
    };
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    loop {
        let op = *take(&mut pos, 1)?.first().ok_or(PickleError::Truncated)?;
        match op {
            0x80 => {
                take(&mut pos, 1)?; // PROTO
            }
            0x95 => {
                take(&mut pos, 8)?; // FRAME
            }
            0x94 => {} // MEMOIZE
            b'q' => {
                take(&mut pos, 1)?; // BINPUT
            }
            b'r' => {
                take(&mut pos, 4)?; // LONG_BINPUT
            }
            0x8c | b'X' | 0x8d => {
                let width = match op {
                    0x8c => 1,
                    b'X' => 4,
                    _ => 8,
                };
                let n = usize::try_from(le(take(&mut pos, width)?))
                    .map_err(|_| PickleError::Truncated)?;
                let bytes = take(&mut pos, n)?;
                value = Some(String::from_utf8(bytes.to_vec()).map_err(|_| PickleError::Utf8)?);
            }
            b'.' => return value.ok_or(PickleError::Empty),
            other => return Err(PickleError::Opcode(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &[u8], expect: Result<&str, PickleError>) {
        assert_eq!(unpickle_str(data), expect.map(str::to_owned));
    }

    #[test]
    fn reads_strings_of_every_width_and_refuses_anything_else() {
        // pickle.dumps("hi", protocol=4)
        check(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00\x8c\x02hi\x94.", Ok("hi"));
        // pickle.dumps("hi", protocol=2): BINUNICODE
        check(b"\x80\x02X\x02\x00\x00\x00hiq\x00.", Ok("hi"));
        check(b"X\x02\x00\x00\x00hi.", Ok("hi"));
        check(b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00a\x94.", Ok("a"));
        // A GLOBAL opcode (what code-running pickles use) is refused.
        check(b"cos\nsystem\n.", Err(PickleError::Opcode(b'c')));
        check(b"\x8c\x05hi", Err(PickleError::Truncated));
        check(b".", Err(PickleError::Empty));
    }
}
