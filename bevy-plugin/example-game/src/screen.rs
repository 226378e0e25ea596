//! Is a sprite on screen? Compares a rendered frame with a sprite's pixels drawn at an integer
//! scale with nearest sampling: what pixel art must look like (no filtering, tonemapping,
//! dithering or colour grading).

/// Straight RGBA8 pixels, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgba {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ]
    }

    /// Decodes a PNG into RGBA8.
    pub fn from_png(bytes: &[u8]) -> Result<Rgba, String> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
        let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
        let (w, h) = (info.width, info.height);
        let px = (w * h) as usize;
        let data = match info.color_type {
            png::ColorType::Rgba => buf[..px * 4].to_vec(),
            png::ColorType::Rgb => buf[..px * 3]
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect(),
            png::ColorType::GrayscaleAlpha => buf[..px * 2]
                .chunks_exact(2)
                .flat_map(|c| [c[0], c[0], c[0], c[1]])
                .collect(),
            png::ColorType::Grayscale => buf[..px].iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::Indexed => return Err("indexed PNG not expanded".into()),
        };
        Ok(Rgba {
            width: w,
            height: h,
            data,
        })
    }
}

/// Where a sprite is drawn: its top-left screen pixel and integer scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub x: u32,
    pub y: u32,
    pub scale: u32,
}

/// Share (0..=1) of the sprite's screen pixels that show it: opaque sprite pixels must match
/// their colour within `tolerance` per channel, transparent ones must show `background`.
/// Half-transparent pixels are not judged. Pixels outside the screen count as misses.
pub fn match_share(
    screen: &Rgba,
    sprite: &Rgba,
    at: Placement,
    background: [u8; 3],
    tolerance: u8,
) -> f64 {
    let close = |a: [u8; 4], b: [u8; 3]| (0..3).all(|c| a[c].abs_diff(b[c]) <= tolerance);
    let (mut judged, mut matched) = (0u64, 0u64);
    for sy in 0..sprite.height {
        for sx in 0..sprite.width {
            let p = sprite.pixel(sx, sy);
            let want = match p[3] {
                255 => [p[0], p[1], p[2]],
                0 => background,
                _ => continue,
            };
            for dy in 0..at.scale {
                for dx in 0..at.scale {
                    judged += 1;
                    let (x, y) = (at.x + sx * at.scale + dx, at.y + sy * at.scale + dy);
                    if x < screen.width && y < screen.height && close(screen.pixel(x, y), want) {
                        matched += 1;
                    }
                }
            }
        }
    }
    if judged == 0 {
        0.0
    } else {
        matched as f64 / judged as f64
    }
}

/// The share above which a sprite counts as shown (a few pixels may differ at the screen's
/// sRGB rounding).
pub const SHOWN: f64 = 0.995;

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, p: [u8; 4]) -> Rgba {
        Rgba {
            width: w,
            height: h,
            data: (0..w * h).flat_map(|_| p).collect(),
        }
    }

    #[test]
    fn a_sprite_drawn_at_scale_matches_and_another_does_not() {
        let mut sprite = solid(2, 2, [200, 10, 10, 255]);
        sprite.data[4..8].copy_from_slice(&[0, 0, 0, 0]); // (1,0) transparent
        let mut screen = solid(10, 10, [30, 30, 30, 255]);
        let at = Placement {
            x: 2,
            y: 4,
            scale: 3,
        };
        for sy in 0..2 {
            for sx in 0..2 {
                let p = sprite.pixel(sx, sy);
                if p[3] == 0 {
                    continue;
                }
                for d in 0..9 {
                    let (x, y) = (2 + sx * 3 + d % 3, 4 + sy * 3 + d / 3);
                    let i = ((y * 10 + x) * 4) as usize;
                    screen.data[i..i + 4].copy_from_slice(&p);
                }
            }
        }
        assert_eq!(match_share(&screen, &sprite, at, [30, 30, 30], 2), 1.0);
        let other = solid(2, 2, [10, 200, 10, 255]);
        assert!(match_share(&screen, &other, at, [30, 30, 30], 2) < 0.1);
        // One pixel off: the placement matters.
        let shifted = Placement { x: 3, ..at };
        assert!(match_share(&screen, &sprite, shifted, [30, 30, 30], 2) < SHOWN);
    }
}
