//! The ggml tensor types valley reads, with their block layouts (`ggml-common.h`).

/// A ggml tensor type, numbered as in GGUF files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Bf16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    /// Activations only (the partner of Q4_1 and Q5_1 in dot products).
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    /// Activations only (the partner of every K-quant in dot products).
    Q8K,
}

/// Values in one K-quant super-block.
pub const QK_K: usize = 256;

impl GgmlType {
    /// The type of a GGUF tensor's `ggml_type` number, `None` for types valley cannot read.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            9 => Self::Q8_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            30 => Self::Bf16,
            _ => return None,
        })
    }

    /// The GGUF number of the type.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::Bf16 => 30,
        }
    }

    /// ggml's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Bf16 => "BF16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
        }
    }

    /// (values per block, bytes per block).
    pub fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::Bf16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q8_1 => (32, 36),
            Self::Q2K => (QK_K, 84),
            Self::Q3K => (QK_K, 110),
            Self::Q4K => (QK_K, 144),
            Self::Q5K => (QK_K, 176),
            Self::Q6K => (QK_K, 210),
            Self::Q8K => (QK_K, 292),
        }
    }

    /// Bytes of `n` values (`n` a whole number of blocks).
    pub fn bytes_for(self, n: usize) -> usize {
        let (per, bytes) = self.block();
        n / per * bytes
    }

    /// Whether this is a weight type made of quantised blocks (not a float type).
    pub fn is_quantized(self) -> bool {
        !matches!(self, Self::F32 | Self::F16 | Self::Bf16)
    }

    /// The activation format its dot products take, as llama.cpp pairs them (`vec_dot_type`):
    /// Q8_0 for the symmetric 32-blocks, Q8_1 (which carries its block sums) for the ones with
    /// a minimum, Q8_K for the K-quants, f32 for float weights.
    pub fn dot_partner(self) -> ActKind {
        match self {
            Self::F32 | Self::F16 | Self::Bf16 => ActKind::F32,
            Self::Q4_0 | Self::Q5_0 | Self::Q8_0 => ActKind::Q8_0,
            Self::Q4_1 | Self::Q5_1 => ActKind::Q8_1,
            Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K => ActKind::Q8K,
            Self::Q8_1 | Self::Q8K => ActKind::F32,
        }
    }
}

/// The weight types valley can quantise f32 weights to (`valley serve --quantize`).
pub const QUANTIZE_TARGETS: [GgmlType; 8] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q4K,
    GgmlType::Q5K,
    GgmlType::Q6K,
];

/// A quantisation target named as ggml names it, in any case (`q8_0`, `Q4_K`).
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not one of {names}", names = QUANTIZE_TARGETS.map(|t| t.name().to_ascii_lowercase()).join(", "))]
pub struct UnknownTarget(pub String);

impl GgmlType {
    /// The quantisation target called `name` (one of [`QUANTIZE_TARGETS`], any case).
    pub fn quantize_target(name: &str) -> Result<Self, UnknownTarget> {
        QUANTIZE_TARGETS
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownTarget(name.to_owned()))
    }
}

/// How activations are held for a dot product with a weight row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActKind {
    F32,
    Q8_0,
    Q8_1,
    Q8K,
}

impl ActKind {
    /// Values per block of the quantised forms (1 for f32).
    pub fn block_len(self) -> usize {
        match self {
            Self::F32 => 1,
            Self::Q8_0 | Self::Q8_1 => 32,
            Self::Q8K => QK_K,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_block_sizes_match_ggml() {
        for id in 0..40 {
            if let Some(t) = GgmlType::from_id(id) {
                assert_eq!(t.id(), id, "{}", t.name());
            }
        }
        // sizeof(block_q4_K) = 2 + 2 + 12 + 128; q6_K = 128 + 64 + 16 + 2; q8_K = 4 + 256 + 32
        assert_eq!(GgmlType::Q4K.block(), (256, 144));
        assert_eq!(GgmlType::Q6K.block(), (256, 210));
        assert_eq!(GgmlType::Q8K.block(), (256, 292));
        assert_eq!(GgmlType::Q4_1.bytes_for(576), 18 * 20);
    }

    #[test]
    fn quantisation_targets_by_name() {
        assert_eq!(GgmlType::quantize_target("q4_k").unwrap(), GgmlType::Q4K);
        assert_eq!(GgmlType::quantize_target("Q8_0").unwrap(), GgmlType::Q8_0);
        let e = GgmlType::quantize_target("q3_k").unwrap_err().to_string();
        assert_eq!(e, "\"q3_k\" is not one of q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k");
    }
}
