//! Element loops at the CPU's vector width.
//!
//! The default x86-64 target has only SSE2 (4 lanes of f32). [`with_simd`] runs a closure
//! compiled for AVX-512 (16 lanes) or AVX2 with FMA (8 lanes) where the CPU has them, chosen
//! at run time, so that the loops inlined into it vectorise at that width. The arithmetic
//! is the same at every width (no fused multiply-adds unless written out), so results are
//! identical to the bit (tested).
//!
//! A closure given to [`with_simd`] is compiled inside the wide function only while LLVM
//! finds it cheap enough to inline; a larger loop is a [`Kernel`] whose `run` is
//! `#[inline(always)]`.

/// A loop to run at the CPU's vector width by [`with_simd`]. Every closure is one; a type
/// implementing it marks `run` `#[inline(always)]` so that its loop always compiles inside
/// the wide function.
pub trait Kernel {
    /// What the loop returns.
    type Output;
    /// Runs the loop.
    fn run(self) -> Self::Output;
}

impl<R, F: FnOnce() -> R> Kernel for F {
    type Output = R;
    #[inline(always)]
    fn run(self) -> R {
        self()
    }
}

/// The instruction sets a loop can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// The default target (SSE2 on x86-64).
    Default,
    /// AVX2 and FMA, 8 lanes of f32.
    Avx2,
    /// AVX-512 F, BW, DQ, VL, 16 lanes of f32.
    Avx512,
}

impl Width {
    /// Every width this CPU can run, narrowest first.
    pub fn available() -> Vec<Width> {
        let mut widths = vec![Width::Default];
        if has_avx2() {
            widths.push(Width::Avx2);
        }
        if has_avx512() {
            widths.push(Width::Avx512);
        }
        widths
    }
}

/// Whether the CPU has AVX2 and FMA (a cached lookup after the first call).
#[inline(always)]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has the AVX-512 subsets [`Width::Avx512`] compiles for, and FMA.
#[inline(always)]
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f` compiled for the widest vectors the CPU has: AVX-512, else AVX2 and FMA, else
/// the default target.
#[inline(always)]
pub fn with_simd<K: Kernel>(f: K) -> K::Output {
    let width = if has_avx512() {
        Width::Avx512
    } else if has_avx2() {
        Width::Avx2
    } else {
        Width::Default
    };
    // SAFETY: the CPU has the width's features (just detected).
    unsafe { run_at(width, f) }
}

/// Runs `f` compiled for `width` (for comparing widths: [`with_simd`] picks the widest).
///
/// # Panics
///
/// If this CPU cannot run `width` (see [`Width::available`]).
pub fn with_width<K: Kernel>(width: Width, f: K) -> K::Output {
    assert!(Width::available().contains(&width), "this CPU cannot run {width:?} vectors");
    // SAFETY: the CPU has the width's features (asserted).
    unsafe { run_at(width, f) }
}

/// Runs `f` compiled for `width`.
///
/// # Safety
///
/// The CPU must have `width`'s features.
#[inline(always)]
unsafe fn run_at<K: Kernel>(width: Width, f: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        /// Runs `f` with AVX2 and FMA enabled.
        ///
        /// # Safety
        ///
        /// The CPU must support AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn wide<K: Kernel>(f: K) -> K::Output {
            f.run()
        }
        /// Runs `f` with AVX-512 enabled.
        ///
        /// # Safety
        ///
        /// The CPU must support AVX-512 F, BW, DQ, VL, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        unsafe fn widest<K: Kernel>(f: K) -> K::Output {
            f.run()
        }
        match width {
            // SAFETY: the caller guarantees the features.
            Width::Avx512 => return unsafe { widest(f) },
            // SAFETY: as above.
            Width::Avx2 => return unsafe { wide(f) },
            Width::Default => {}
        }
    }
    f.run()
}
