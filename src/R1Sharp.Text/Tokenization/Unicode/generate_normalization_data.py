#!/usr/bin/env python3
"""Writes normalization-data.txt, the Unicode Character Database subset that UnicodeNormalizer.cs needs.

Run: python3 generate_normalization_data.py > normalization-data.txt
Source: Python's unicodedata module (the data file records which Unicode version). Only data from the
Unicode Character Database (Unicode License v3) is written, no code. Lines (code points in hex):
  V <unicode version>
  C <cp> <canonical combining class>          (only classes != 0)
  D <cp> <cp>...                              full canonical decomposition (NFD of the character)
  K <cp> <cp>...                              full compatibility decomposition, where it differs from D
  P <first> <second> <composite>              primary composites (canonical pairs that NFC recomposes)
Hangul syllables are left out: UnicodeNormalizer.cs decomposes and composes them arithmetically.
"""
import unicodedata as ud

def is_hangul_syllable(cp):
    return 0xAC00 <= cp <= 0xD7A3

print("V", ud.unidata_version)
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF or is_hangul_syllable(cp):
        continue
    c = chr(cp)
    ccc = ud.combining(c)
    if ccc:
        print("C %X %d" % (cp, ccc))
    nfd = ud.normalize("NFD", c)
    if nfd != c:
        print("D %X %s" % (cp, " ".join("%X" % ord(x) for x in nfd)))
    nfkd = ud.normalize("NFKD", c)
    if nfkd != nfd:
        print("K %X %s" % (cp, " ".join("%X" % ord(x) for x in nfkd)))
    decomposition = ud.decomposition(c)
    if decomposition and not decomposition.startswith("<"):
        parts = [int(x, 16) for x in decomposition.split()]
        if len(parts) == 2 and ud.normalize("NFC", "".join(map(chr, parts))) == c:
            print("P %X %X %X" % (parts[0], parts[1], cp))
