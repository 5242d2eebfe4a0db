#pragma once
// UTF-8 helpers for the text functions. Text is counted in Unicode code points (not UTF-16 units as in
// JavaScript); a byte that is not part of a valid sequence counts as one character and is kept as is.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::iml {

struct CodePoint {
    char32_t value = 0;
    std::uint8_t length = 1;  // bytes consumed, 1..4
    bool valid = true;        // false: a stray byte, `value` is the byte itself
};

// Decodes the code point starting at text[pos] (pos < text.size()).
CodePoint DecodeUtf8(std::string_view text, std::size_t pos);
void AppendUtf8(std::string& out, char32_t cp);

std::size_t CodePointCount(std::string_view text);
// Byte offset of the code point with the given index; text.size() when index is past the end.
std::size_t ByteOffset(std::string_view text, std::size_t index);
// Code point index of a byte offset that starts a character.
std::size_t CodePointIndex(std::string_view text, std::size_t byte_offset);

// Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; other code points map to
// themselves.
char32_t ToLowerCodePoint(char32_t cp);
char32_t ToUpperCodePoint(char32_t cp);
std::string ToLower(std::string_view text);
std::string ToUpper(std::string_view text);

// JavaScript's White_Space set plus line terminators (what String.prototype.trim removes).
bool IsSpaceCodePoint(char32_t cp);

}  // namespace switchboard::iml
