//! Colours: the ARC palette, the puzzle colours and the plot series colours.

/// An sRGB colour with straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red component, 0..=255.
    pub r: u8,
    /// Green component, 0..=255.
    pub g: u8,
    /// Blue component, 0..=255.
    pub b: u8,
    /// Opacity: 0 transparent, 255 opaque.
    pub a: u8,
}

impl Color {
    /// Opaque white.
    pub const WHITE: Color = Color::hex(0xFFFFFF);
    /// Opaque black.
    pub const BLACK: Color = Color::hex(0x000000);

    /// An opaque colour from its red, green and blue components.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }

    /// `0xRRGGBB`, opaque.
    pub const fn hex(rgb: u32) -> Color {
        Color::rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
    }

    /// The same colour with opacity `a` (0 transparent, 255 opaque).
    pub const fn with_alpha(self, a: u8) -> Color {
        Color { a, ..self }
    }

    /// `#rrggbb` (alpha is written separately in SVG).
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// Relative luminance in 0..=1 (Rec. 709 weights on the sRGB values; good enough to pick
    /// black or white ink).
    pub fn luminance(self) -> f32 {
        (0.2126 * self.r as f32 + 0.7152 * self.g as f32 + 0.0722 * self.b as f32) / 255.0
    }

    /// Black on light colours, white on dark ones.
    pub fn ink(self) -> Color {
        if self.luminance() > 0.5 {
            Color::BLACK
        } else {
            Color::WHITE
        }
    }
}

/// The standard ARC palette, colour 0 to 9 (as in the ARC-AGI testing interface).
pub const ARC_PALETTE: [Color; 10] = [
    Color::hex(0x000000),
    Color::hex(0x0074D9),
    Color::hex(0xFF4136),
    Color::hex(0x2ECC40),
    Color::hex(0xFFDC00),
    Color::hex(0xAAAAAA),
    Color::hex(0xF012BE),
    Color::hex(0xFF851B),
    Color::hex(0x7FDBFF),
    Color::hex(0x870C25),
];

/// Line colours of plot series, in order (colour-blind friendly "Tableau 10" start).
pub const SERIES: [Color; 8] = [
    Color::hex(0x1F77B4),
    Color::hex(0xFF7F0E),
    Color::hex(0x2CA02C),
    Color::hex(0xD62728),
    Color::hex(0x9467BD),
    Color::hex(0x8C564B),
    Color::hex(0xE377C2),
    Color::hex(0x7F7F7F),
];

/// Frame drawn around cells that changed since the previous step.
pub const CHANGED: Color = Color::hex(0xFFB000);
/// Background of a changed Sudoku cell.
pub const CHANGED_FILL: Color = Color::hex(0xFFF0A0);
/// Background of a wrong Sudoku cell.
pub const WRONG_FILL: Color = Color::hex(0xFFC8C8);
/// Digits that are wrong.
pub const WRONG_INK: Color = Color::hex(0xC00000);
/// Marks an attempt that equals the truth.
pub const CORRECT: Color = Color::hex(0x2CA02C);
/// Marks an attempt that differs from the truth.
pub const INCORRECT: Color = Color::hex(0xD62728);
/// Text colour for labels.
pub const TEXT: Color = Color::hex(0x222222);
/// Secondary text (captions, tick labels).
pub const MUTED: Color = Color::hex(0x666666);
/// Padding tokens (outside the puzzle).
pub const PAD: Color = Color::hex(0xE4E4E4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_ink_contrasts() {
        assert_eq!(Color::hex(0x0074D9), Color::rgb(0, 0x74, 0xD9));
        assert_eq!(ARC_PALETTE[9].to_hex(), "#870c25");
        assert_eq!(Color::hex(0xFFDC00).ink(), Color::BLACK);
        assert_eq!(Color::hex(0x000000).ink(), Color::WHITE);
    }
}
