//! Integers carried as SMALL_BIG_EXT / LARGE_BIG_EXT: values beyond `i64` that peers send (Python
//! call ids are 128-bit), and values the broker must send as bignums whatever their size
//! (millisecond timestamps, which the Java SDK reads only as `BigInteger`).

use std::fmt;

use bytes::Bytes;

/// An integer written as a bignum: a sign and a little-endian magnitude.
///
/// The magnitude never has high zero bytes, and zero is never negative, so equal values compare
/// equal. Encoding a `BigInt` always yields tag 110 (or 111 past 255 magnitude bytes), even for
/// small values; decoding yields a `BigInt` only for values outside `i64`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BigInt {
    negative: bool,
    magnitude: Bytes,
}

impl BigInt {
    /// A bignum from its sign and little-endian magnitude bytes.
    pub fn new(negative: bool, magnitude_le: impl Into<Bytes>) -> Self {
        let mut magnitude = magnitude_le.into();
        let used = magnitude.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        magnitude.truncate(used);
        Self {
            negative: negative && used > 0,
            magnitude,
        }
    }

    /// A non-negative bignum.
    pub fn from_u64(value: u64) -> Self {
        Self::new(false, Bytes::copy_from_slice(trimmed(&value.to_le_bytes())))
    }

    /// A bignum with the value of an `i64`.
    pub fn from_i64(value: i64) -> Self {
        let bytes = value.unsigned_abs().to_le_bytes();
        Self::new(value < 0, Bytes::copy_from_slice(trimmed(&bytes)))
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The magnitude, little-endian, without high zero bytes (empty for zero).
    pub fn magnitude_le(&self) -> &[u8] {
        &self.magnitude
    }

    /// The value as `u64`, if it is non-negative and fits.
    pub fn to_u64(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        magnitude_u64(&self.magnitude)
    }

    /// The value as `i64`, if it fits.
    pub fn to_i64(&self) -> Option<i64> {
        let magnitude = magnitude_u64(&self.magnitude)?;
        if self.negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        }
    }
}

/// `bytes` without its high zero bytes.
pub(crate) fn trimmed(bytes: &[u8]) -> &[u8] {
    let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..used]
}

/// A little-endian magnitude as `u64`, if it fits.
pub(crate) fn magnitude_u64(magnitude: &[u8]) -> Option<u64> {
    let magnitude = trimmed(magnitude);
    if magnitude.len() > 8 {
        return None;
    }
    let mut word = [0u8; 8];
    word[..magnitude.len()].copy_from_slice(magnitude);
    Some(u64::from_le_bytes(word))
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BigInt({self})")
    }
}

/// Erlang notation in base 16: `16#1F` / `-16#1F`.
impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str("16#")?;
        let mut digits = self.magnitude.iter().rev();
        match digits.next() {
            None => f.write_str("0"),
            Some(first) => {
                write!(f, "{first:X}")?;
                digits.try_for_each(|b| write!(f, "{b:02X}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_high_zero_bytes_and_negative_zero() {
        assert_eq!(BigInt::new(false, vec![1, 0, 0]), BigInt::from_u64(1));
        assert_eq!(BigInt::new(true, vec![0, 0]), BigInt::from_u64(0));
        assert!(BigInt::from_u64(0).magnitude_le().is_empty());
    }

    #[test]
    fn converts_back_when_it_fits() {
        assert_eq!(BigInt::from_i64(i64::MIN).to_i64(), Some(i64::MIN));
        assert_eq!(BigInt::from_i64(-5).to_i64(), Some(-5));
        assert_eq!(BigInt::from_i64(-5).to_u64(), None);
        assert_eq!(BigInt::from_u64(u64::MAX).to_i64(), None);
        assert_eq!(BigInt::from_u64(u64::MAX).to_u64(), Some(u64::MAX));
        assert_eq!(
            BigInt::new(true, vec![0, 0, 0, 0, 0, 0, 0, 0x80]).to_i64(),
            Some(i64::MIN)
        );
        assert_eq!(
            BigInt::new(true, vec![1, 0, 0, 0, 0, 0, 0, 0x80]).to_i64(),
            None
        );
        assert_eq!(BigInt::new(false, vec![0; 9]).to_u64(), Some(0));
        assert_eq!(BigInt::new(false, vec![1; 9]).to_u64(), None);
    }

    #[test]
    fn displays_in_hex() {
        assert_eq!(BigInt::from_i64(-0x1f00).to_string(), "-16#1F00");
        assert_eq!(BigInt::from_u64(0).to_string(), "16#0");
    }
}
