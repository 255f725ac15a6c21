//! The model configuration, with the field names of the official code
//! (`TinyRecursiveReasoningModel_ACTV1Config` / `HierarchicalReasoningModel_ACTV1Config`).
//!
//! Two ways in:
//! - our own files (TOML or JSON): strict, an unknown key is an error that names it
//!   ([`ModelConfig::from_toml_str`], [`ModelConfig::from_json_str`], [`ModelConfig::from_file`]);
//! - official JSON (the reference vectors' `NAME.json`, a flattened `all_config.yaml` arch
//!   section): lenient like pydantic, unknown keys are ignored and returned so the caller can
//!   print them ([`ModelConfig::from_official_json`]).

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

/// Which network: TRM (`TinyRecursiveReasoningModel_ACTV1`) or HRM
/// (`HierarchicalReasoningModel_ACTV1`, the copy in the TRM repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Tiny Recursive Model: one shared network updates both z_H and z_L.
    Trm,
    /// Hierarchical Reasoning Model: separate `H_level` and `L_level` stacks.
    Hrm,
}

/// `pos_encodings`: rotary in every attention layer, a learned table added to the input,
/// or nothing (the token-mixing `mlp_t` model is position-specific by construction).
/// `rope2d` is our extension for grids: rotary by row and by column (see `grid_width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PosEncoding {
    /// Rotary embedding by position in the flat sequence.
    Rope,
    /// Rotary by row and column of a grid of `grid_width` columns (not in the official code).
    Rope2d,
    /// A learned `[S, hidden_size]` table added to the input embedding (then scaled by 1/sqrt(2)).
    Learned,
    /// No positional encoding.
    None,
}

/// `loss_type` of `ACTLossHead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// Stablemax cross-entropy computed in f64 (all published TRM/HRM runs).
    StablemaxCrossEntropy,
    /// Ordinary log-softmax cross-entropy in f32.
    SoftmaxCrossEntropy,
}

fn default_arch() -> Arch {
    Arch::Trm
}
fn default_puzzle_emb_len() -> usize {
    16
}
fn default_rms_norm_eps() -> f64 {
    1e-5
}
fn default_rope_theta() -> f64 {
    10000.0
}
fn default_forward_dtype() -> String {
    "bfloat16".into()
}
fn is_zero(n: &usize) -> bool {
    *n == 0
}
fn default_true() -> bool {
    true
}
fn default_loss_type() -> LossType {
    LossType::StablemaxCrossEntropy
}

/// Model configuration. Serde names are the official keys (`H_cycles`, `no_ACT_continue`, ...);
/// the Rust fields are their snake_case forms.
///
/// `seq_len`, `vocab_size` and `num_puzzle_identifiers` come from the dataset metadata in the
/// official trainer; they may be left out of our config files (0) and filled with
/// [`ModelConfig::with_dataset`] before [`ModelConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Which network, TRM or HRM (default TRM).
    #[serde(default = "default_arch")]
    pub arch: Arch,
    /// Official local batch size; informational here (the carry takes its size from the batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Tokens per example without the puzzle-embedding prefix (81 for Sudoku); 0: from the dataset.
    #[serde(default)]
    pub seq_len: usize,
    /// Number of token ids (11 for Sudoku: pad, blank and nine digits); 0: from the dataset.
    #[serde(default)]
    pub vocab_size: usize,
    /// Rows of the puzzle-embedding table (one per puzzle identifier); 0: from the dataset.
    #[serde(default)]
    pub num_puzzle_identifiers: usize,
    /// Width of one puzzle-identifier embedding row (0: no puzzle embedding).
    #[serde(default)]
    pub puzzle_emb_ndim: usize,
    /// Prefix slots for the puzzle embedding (TRM only; 0 means ceil(puzzle_emb_ndim / hidden_size),
    /// which is what HRM always uses).
    #[serde(default = "default_puzzle_emb_len")]
    pub puzzle_emb_len: usize,
    /// T: recursions per supervision step (T-1 without gradient).
    #[serde(rename = "H_cycles")]
    pub h_cycles: usize,
    /// n: latent updates per recursion.
    #[serde(rename = "L_cycles")]
    pub l_cycles: usize,
    /// Blocks in `H_level` (HRM only; TRM ignores it).
    #[serde(rename = "H_layers", default)]
    pub h_layers: usize,
    /// Blocks in `L_level` (the shared network of TRM).
    #[serde(rename = "L_layers")]
    pub l_layers: usize,
    /// D: the width of every token state (z_H, z_L, embeddings).
    pub hidden_size: usize,
    /// SwiGLU factor: the MLP inner width is round(expansion * 2/3 * width), rounded up
    /// to a multiple of 256.
    pub expansion: f64,
    /// Attention heads (the `mlp_t` model has no attention).
    pub num_heads: usize,
    /// How token positions are encoded.
    pub pos_encodings: PosEncoding,
    /// Epsilon of the RMS norms (default 1e-5).
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// Base of the rotary angle frequencies (default 10000).
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// Columns of the grid for `pos_encodings = "rope2d"` (0: the side of a square `seq_len`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grid_width: usize,
    /// N_sup: supervision steps per example (evaluation always runs all of them).
    pub halt_max_steps: usize,
    /// Training only: chance per row of drawing a minimum number of supervision steps
    /// before it may halt.
    pub halt_exploration_prob: f64,
    /// Official activation dtype. On the CPU everything runs in f32; `bfloat16` only makes a
    /// fresh `H_init` / `L_init` take bf16-representable values as the official buffers do.
    #[serde(default = "default_forward_dtype")]
    pub forward_dtype: String,
    /// Token-mixing MLP instead of attention (TRM-MLP).
    #[serde(default)]
    pub mlp_t: bool,
    /// TRM: halt on sigmoid(q_halt) > 0.5 only, no Q-continue loss. HRM ignores it and always
    /// uses the continue logit (official `hrm.py`).
    #[serde(rename = "no_ACT_continue", default = "default_true")]
    pub no_act_continue: bool,
    /// Cross-entropy used for the token loss (default stablemax).
    #[serde(default = "default_loss_type")]
    pub loss_type: LossType,
}

/// Every key [`ModelConfig`] knows, as spelled in files.
pub const CONFIG_KEYS: &[&str] = &[
    "arch",
    "batch_size",
    "seq_len",
    "vocab_size",
    "num_puzzle_identifiers",
    "puzzle_emb_ndim",
    "puzzle_emb_len",
    "H_cycles",
    "L_cycles",
    "H_layers",
    "L_layers",
    "hidden_size",
    "expansion",
    "num_heads",
    "pos_encodings",
    "rms_norm_eps",
    "rope_theta",
    "grid_width",
    "halt_max_steps",
    "halt_exploration_prob",
    "forward_dtype",
    "mlp_t",
    "no_ACT_continue",
    "loss_type",
];

const FLOAT_DTYPES: &[&str] =
    &["bfloat16", "float16", "float32", "float64", "half", "float", "double"];

impl ModelConfig {
    /// Strict parse of our own TOML config (the model table).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(cfg)
    }

    /// Strict parse of our own JSON config.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(cfg)
    }

    /// Strict parse of a `.toml` or `.json` file (by extension), validated.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let cfg = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json_str(&text),
            _ => Self::from_toml_str(&text),
        }
        .with_context(|| format!("model config {}", path.display()))?;
        cfg.validate().with_context(|| format!("model config {}", path.display()))?;
        Ok(cfg)
    }

    /// The published Sudoku-Extreme TRM-MLP (design 1.11: D 512, T 3, n 6, two layers,
    /// N_sup 16) with the dataset's sizes (81 cells, vocabulary 11, one identifier): the
    /// configuration the speed goals are stated for.
    pub fn official_sudoku_mlp() -> ModelConfig {
        ModelConfig::from_official_json(
            r#"{"seq_len": 81, "vocab_size": 11, "num_puzzle_identifiers": 1, "puzzle_emb_ndim": 512,
                "H_cycles": 3, "L_cycles": 6, "L_layers": 2, "hidden_size": 512, "expansion": 4,
                "num_heads": 8, "pos_encodings": "none", "halt_max_steps": 16,
                "halt_exploration_prob": 0.1, "mlp_t": true}"#,
        )
        .expect("the built-in configuration parses")
        .0
    }

    /// Lenient parse of an official JSON config. Accepts the keys of the official pydantic
    /// config plus two official spellings: `loss: {loss_type}` (Hydra arch section) and
    /// `name` (`...hrm@HierarchicalReasoningModel_ACTV1` selects HRM when `arch` is absent).
    /// Returns the config (not yet validated) and the keys that were ignored.
    pub fn from_official_json(text: &str) -> Result<(Self, Vec<String>)> {
        let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
        let serde_json::Value::Object(map) = value else {
            bail!("the official config must be a JSON object");
        };
        let mut known = serde_json::Map::new();
        let mut ignored = Vec::new();
        for (key, v) in &map {
            if CONFIG_KEYS.contains(&key.as_str()) {
                known.insert(key.clone(), v.clone());
            } else {
                ignored.push(key.clone());
            }
        }
        // Official: any other value than rope / learned means no positional encoding.
        if let Some(serde_json::Value::String(p)) = known.get("pos_encodings") {
            if !["rope", "rope2d", "learned", "none"].contains(&p.as_str()) {
                ignored.push(format!("pos_encodings = {p:?} (read as none, as official)"));
                known.insert("pos_encodings".into(), "none".into());
            }
        }
        if !known.contains_key("loss_type") {
            if let Some(lt) = map.get("loss").and_then(|l| l.get("loss_type")) {
                known.insert("loss_type".into(), lt.clone());
            }
        }
        if !known.contains_key("arch") {
            if let Some(name) = map.get("name").and_then(|n| n.as_str()) {
                let arch = if name.contains("HierarchicalReasoningModel") || name.contains("hrm@") {
                    "hrm"
                } else {
                    "trm"
                };
                known.insert("arch".into(), arch.into());
            }
        }
        let cfg: Self = serde_json::from_value(serde_json::Value::Object(known))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((cfg, ignored))
    }

    /// [`Self::from_official_json`] on a file, validated.
    pub fn from_official_json_file(path: &Path) -> Result<(Self, Vec<String>)> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let (cfg, ignored) = Self::from_official_json(&text)
            .with_context(|| format!("official config {}", path.display()))?;
        cfg.validate().with_context(|| format!("official config {}", path.display()))?;
        Ok((cfg, ignored))
    }

    /// Fills the three fields the official trainer takes from the dataset metadata.
    pub fn with_dataset(
        mut self,
        vocab_size: usize,
        seq_len: usize,
        num_puzzle_identifiers: usize,
    ) -> Self {
        self.vocab_size = vocab_size;
        self.seq_len = seq_len;
        self.num_puzzle_identifiers = num_puzzle_identifiers;
        self
    }

    /// P: the number of puzzle-embedding prefix slots. TRM: `puzzle_emb_len`, or
    /// ceil(puzzle_emb_ndim / hidden_size) when it is 0; HRM: always the ceiling.
    pub fn prefix_len(&self) -> usize {
        let ceil = self.puzzle_emb_ndim.div_ceil(self.hidden_size.max(1));
        match self.arch {
            Arch::Trm if self.puzzle_emb_len != 0 => self.puzzle_emb_len,
            _ => ceil,
        }
    }

    /// S = P + seq_len: the internal sequence length of z_H and z_L.
    pub fn total_len(&self) -> usize {
        self.prefix_len() + self.seq_len
    }

    /// Columns of the grid that `rope2d` rotates by: `grid_width`, else the side of a square
    /// `seq_len`.
    pub fn grid_columns(&self) -> Result<usize> {
        if self.grid_width != 0 {
            ensure!(
                self.seq_len % self.grid_width == 0,
                "grid_width {} does not divide seq_len {}: a grid of that many columns needs seq_len = rows * grid_width",
                self.grid_width,
                self.seq_len
            );
            return Ok(self.grid_width);
        }
        let side = (self.seq_len as f64).sqrt().round() as usize;
        ensure!(
            side * side == self.seq_len,
            "pos_encodings = \"rope2d\" with seq_len {}, which is not a square: set grid_width to the number of columns",
            self.seq_len
        );
        Ok(side)
    }

    /// Attention head width, `hidden_size // num_heads` as official (the attention output
    /// width is `head_dim * num_heads`, which may be less than `hidden_size`).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads.max(1)
    }

    /// Whether the halting rule and the loss use the Q-continue logit (HRM always;
    /// TRM when `no_ACT_continue` is false).
    pub fn uses_q_continue(&self) -> bool {
        self.arch == Arch::Hrm || !self.no_act_continue
    }

    /// Checks every field; the error names the key and the fix.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("hidden_size", self.hidden_size),
            ("H_cycles", self.h_cycles),
            ("L_cycles", self.l_cycles),
            ("L_layers", self.l_layers),
            ("halt_max_steps", self.halt_max_steps),
        ];
        for (key, v) in positive {
            if v == 0 {
                bail!("{key} is 0; it must be at least 1");
            }
        }
        for (key, v) in [("vocab_size", self.vocab_size), ("seq_len", self.seq_len)] {
            if v == 0 {
                bail!("{key} is 0: set it in the config or fill it from the dataset metadata (ModelConfig::with_dataset)");
            }
        }
        if self.arch == Arch::Hrm && self.h_layers == 0 {
            bail!("H_layers is 0 but arch is hrm, whose H_level needs at least one block");
        }
        if !(self.expansion > 0.0 && self.expansion.is_finite()) {
            bail!("expansion is {}; it must be a positive number", self.expansion);
        }
        if !(0.0..=1.0).contains(&self.halt_exploration_prob) {
            bail!("halt_exploration_prob is {}; it must lie in [0, 1]", self.halt_exploration_prob);
        }
        if !(self.rms_norm_eps >= 0.0 && self.rms_norm_eps.is_finite()) {
            bail!("rms_norm_eps is {}; it must be a non-negative number", self.rms_norm_eps);
        }
        if !FLOAT_DTYPES.contains(&self.forward_dtype.as_str()) {
            bail!("forward_dtype is {:?}; use one of {FLOAT_DTYPES:?}", self.forward_dtype);
        }
        if !self.mlp_t {
            if self.num_heads == 0 || self.num_heads > self.hidden_size {
                bail!(
                    "num_heads is {} with hidden_size {}: need 1 <= num_heads <= hidden_size (head_dim = hidden_size / num_heads)",
                    self.num_heads,
                    self.hidden_size
                );
            }
            let rotary = matches!(self.pos_encodings, PosEncoding::Rope | PosEncoding::Rope2d);
            if self.pos_encodings == PosEncoding::Rope && self.head_dim() % 2 != 0 {
                bail!(
                    "pos_encodings is rope but head_dim = hidden_size / num_heads = {} is odd; RoPE rotates halves, pick num_heads so that it is even",
                    self.head_dim()
                );
            }
            if self.pos_encodings == PosEncoding::Rope2d {
                if self.head_dim() % 4 != 0 {
                    bail!(
                        "pos_encodings is rope2d but head_dim = hidden_size / num_heads = {} is not a multiple of 4; rows and columns each rotate half of the pairs, pick num_heads so that it is",
                        self.head_dim()
                    );
                }
                self.grid_columns()?;
            }
            if rotary && !(self.rope_theta > 0.0 && self.rope_theta.is_finite()) {
                bail!("rope_theta is {}; it must be positive", self.rope_theta);
            }
        }
        if self.grid_width != 0 && (self.mlp_t || self.pos_encodings != PosEncoding::Rope2d) {
            bail!("grid_width is {} but the model has no 2D rotary embedding: grid_width belongs to pos_encodings = \"rope2d\" with mlp_t = false; remove it", self.grid_width);
        }
        if self.puzzle_emb_ndim > 0 {
            if self.num_puzzle_identifiers == 0 {
                bail!("num_puzzle_identifiers is 0 but puzzle_emb_ndim is {}: set it from the dataset metadata", self.puzzle_emb_ndim);
            }
            if self.prefix_len() * self.hidden_size < self.puzzle_emb_ndim {
                bail!(
                    "puzzle_emb_len {} * hidden_size {} cannot hold puzzle_emb_ndim {}; raise puzzle_emb_len or set it to 0 (automatic)",
                    self.prefix_len(),
                    self.hidden_size,
                    self.puzzle_emb_ndim
                );
            }
        } else if self.prefix_len() > 0 {
            bail!(
                "puzzle_emb_ndim is 0 but puzzle_emb_len is {}: the official model fails on this combination; set puzzle_emb_len = 0 (no prefix) or puzzle_emb_ndim > 0",
                self.puzzle_emb_len
            );
        }
        for (key, w) in
            [("hidden_size", self.hidden_size), ("seq_len + puzzle_emb_len", self.total_len())]
        {
            if key != "hidden_size" && !self.mlp_t {
                continue;
            }
            if crate::init::swiglu_intermediate(w, self.expansion) == 0 {
                bail!(
                    "expansion {} with width {w} ({key}) gives an empty SwiGLU; raise expansion",
                    self.expansion
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_JSON: &str = r#"{"batch_size": 3, "seq_len": 81, "puzzle_emb_ndim": 64,
      "num_puzzle_identifiers": 5, "vocab_size": 11, "H_cycles": 3, "L_cycles": 2, "H_layers": 0,
      "L_layers": 2, "hidden_size": 64, "expansion": 4, "num_heads": 4, "pos_encodings": "none",
      "halt_max_steps": 4, "halt_exploration_prob": 0.0, "forward_dtype": "float32", "mlp_t": true,
      "puzzle_emb_len": 16, "no_ACT_continue": true, "loss_type": "stablemax_cross_entropy",
      "reference_dtype": "float64", "arch": "trm", "grid": [9, 9]}"#;

    #[test]
    fn official_json_loads_and_reports_extra_keys() {
        let (cfg, ignored) = ModelConfig::from_official_json(VECTOR_JSON).unwrap();
        cfg.validate().unwrap();
        assert_eq!(ignored, vec!["grid".to_string(), "reference_dtype".to_string()]);
        assert_eq!(cfg.h_cycles, 3);
        assert!(cfg.mlp_t);
        assert_eq!(cfg.prefix_len(), 16);
        assert_eq!(cfg.total_len(), 97);
        assert_eq!(cfg.rms_norm_eps, 1e-5);
        let (cfg, ignored) =
            ModelConfig::from_official_json(&VECTOR_JSON.replace("\"none\"", "\"sinusoidal\""))
                .unwrap();
        assert_eq!(cfg.pos_encodings, PosEncoding::None);
        assert!(ignored.iter().any(|k| k.contains("sinusoidal")));
    }

    #[test]
    fn strict_parse_rejects_unknown_key() {
        let err = ModelConfig::from_json_str(VECTOR_JSON).unwrap_err().to_string();
        assert!(err.contains("reference_dtype"), "{err}");
        let toml = "hidden_size = 64\nexpansion = 4\nnum_heads = 4\npos_encodings = \"rope\"\nH_cycles = 3\nL_cycles = 6\nL_layers = 2\nhalt_max_steps = 16\nhalt_exploration_prob = 0.1\nhiden = 3\n";
        let err = ModelConfig::from_toml_str(toml).unwrap_err().to_string();
        assert!(err.contains("hiden"), "{err}");
    }

    #[test]
    fn every_field_is_in_the_key_list() {
        let (cfg, _) = ModelConfig::from_official_json(VECTOR_JSON).unwrap();
        let mut cfg = cfg;
        cfg.batch_size = Some(1);
        cfg.grid_width = 9;
        let v = serde_json::to_value(&cfg).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut expected: Vec<String> = CONFIG_KEYS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(keys, expected);
    }

    #[test]
    fn validation_names_the_problem() {
        let (mut cfg, _) = ModelConfig::from_official_json(VECTOR_JSON).unwrap();
        cfg.mlp_t = false;
        cfg.pos_encodings = PosEncoding::Rope;
        cfg.num_heads = 64 / 2 + 1; // head_dim 1, odd
        assert!(cfg.validate().unwrap_err().to_string().contains("odd"));
        cfg.num_heads = 4;
        cfg.validate().unwrap();
        cfg.pos_encodings = PosEncoding::Rope2d;
        cfg.num_heads = 8; // head_dim 8
        cfg.validate().unwrap();
        assert_eq!(cfg.grid_columns().unwrap(), 9);
        cfg.num_heads = 16; // head_dim 4
        cfg.validate().unwrap();
        cfg.num_heads = 32; // head_dim 2
        assert!(cfg.validate().unwrap_err().to_string().contains("multiple of 4"));
        cfg.num_heads = 4;
        cfg.grid_width = 4;
        assert!(cfg.validate().unwrap_err().to_string().contains("does not divide seq_len 81"));
        cfg.seq_len = 80;
        cfg.validate().unwrap();
        cfg.grid_width = 0;
        assert!(cfg.validate().unwrap_err().to_string().contains("not a square"));
        cfg.seq_len = 81;
        cfg.mlp_t = true;
        cfg.grid_width = 9;
        assert!(cfg.validate().unwrap_err().to_string().contains("remove it"));
        cfg.mlp_t = false;
        cfg.grid_width = 0;
        cfg.pos_encodings = PosEncoding::Rope;
        cfg.puzzle_emb_ndim = 0;
        assert!(cfg.validate().unwrap_err().to_string().contains("puzzle_emb_len"));
        cfg.puzzle_emb_len = 0;
        cfg.validate().unwrap();
        assert_eq!(cfg.total_len(), 81);
        cfg.vocab_size = 0;
        assert!(cfg.validate().unwrap_err().to_string().contains("vocab_size"));
    }

    #[test]
    fn hrm_prefix_is_the_ceiling() {
        let (mut cfg, _) = ModelConfig::from_official_json(VECTOR_JSON).unwrap();
        cfg.arch = Arch::Hrm;
        cfg.h_layers = 2;
        assert_eq!(cfg.prefix_len(), 1);
        cfg.arch = Arch::Trm;
        cfg.puzzle_emb_len = 0;
        cfg.puzzle_emb_ndim = 65;
        assert_eq!(cfg.prefix_len(), 2);
    }
}
