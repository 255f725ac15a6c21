//! Official initialisation helpers (design 1.4 and 1.10).

use rand::Rng;

/// The SwiGLU intermediate size of the official `SwiGLU(hidden_size, expansion)`:
/// `roundup_to_multiple_of_256(round(expansion * width * 2 / 3))`, where Python's `round`
/// rounds halves to even.
pub fn swiglu_intermediate(width: usize, expansion: f64) -> usize {
    let r = (expansion * width as f64 * 2.0 / 3.0).round_ties_even();
    let r = if r > 0.0 { r as usize } else { 0 };
    r.div_ceil(256) * 256
}

/// Ratio between the requested std and the std of a standard normal truncated to [-2, 2]
/// (the JAX-style truncated normal of `models/common.py::trunc_normal_init_`).
pub fn trunc_normal_factor() -> f64 {
    // erf(2 / sqrt 2) = erf(sqrt 2); the truncation bounds are -2 and 2.
    const ERF_SQRT2: f64 = 0.954_499_736_103_641_6;
    let (lower, upper) = (-2.0f64, 2.0f64);
    let z = ERF_SQRT2; // (erf(upper/sqrt2) - erf(lower/sqrt2)) / 2
    let c = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    let pdf_u = c * (-0.5 * lower * lower).exp();
    let pdf_l = c * (-0.5 * upper * upper).exp();
    1.0 / (1.0 - (upper * pdf_u - lower * pdf_l) / z - ((pdf_u - pdf_l) / z).powi(2)).sqrt()
}

/// `n` samples of a normal truncated to [-2 sigma', 2 sigma'] scaled so that the samples have
/// standard deviation `std` (sigma' = std * 1.1368472). std = 0 gives zeros, as official.
/// Sampled by rejection, which draws from the same distribution as the official inverse-erf
/// method.
pub fn trunc_normal<R: Rng + ?Sized>(rng: &mut R, n: usize, std: f64) -> Vec<f32> {
    if std == 0.0 {
        return vec![0.0; n];
    }
    let scale = std * trunc_normal_factor();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        // Box-Muller gives two independent standard normals per pair of uniforms.
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        for v in [r * t.cos(), r * t.sin()] {
            if (-2.0..=2.0).contains(&v) && out.len() < n {
                out.push((v * scale) as f32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn intermediate_sizes_match_the_reference() {
        assert_eq!(swiglu_intermediate(512, 4.0), 1536);
        assert_eq!(swiglu_intermediate(97, 4.0), 512);
        assert_eq!(swiglu_intermediate(916, 4.0), 2560);
        assert_eq!(swiglu_intermediate(64, 4.0), 256);
        // round half to even: 1.5 * 3 * 2 / 3 = 3.0; 0.75 * 1 * 2/3 = 0.5 -> 0 -> 0
        assert_eq!(swiglu_intermediate(1, 0.75), 0);
        assert_eq!(swiglu_intermediate(3, 1.5), 256);
    }

    #[test]
    fn truncated_normal_has_the_requested_std_and_bounds() {
        assert!((trunc_normal_factor() - 1.1368472).abs() < 1e-6);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let std = 0.5;
        let xs = trunc_normal(&mut rng, 200_000, std);
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var.sqrt() - std).abs() < 0.005, "std {}", var.sqrt());
        let bound = (2.0 * std * trunc_normal_factor()) as f32;
        assert!(xs.iter().all(|&x| x.abs() <= bound));
        assert!(xs.iter().any(|&x| x.abs() > 0.95 * bound));
        assert!(trunc_normal(&mut rng, 5, 0.0).iter().all(|&x| x == 0.0));
    }
}
