#pragma once
// Declarations of the built-in functions (internal); see functions.cpp for the table and docs/templates.md
// for their behaviour.
#include "iml/functions.hpp"

namespace switchboard::iml::fn {

core::Result<Operand> Abs(Call& c);
core::Result<Operand> Add(Call& c);
core::Result<Operand> AddDays(Call& c);
core::Result<Operand> AddHours(Call& c);
core::Result<Operand> AddMinutes(Call& c);
core::Result<Operand> AddMonthsFn(Call& c);
core::Result<Operand> AddSeconds(Call& c);
core::Result<Operand> AddYears(Call& c);
core::Result<Operand> Average(Call& c);
core::Result<Operand> Base64(Call& c);
core::Result<Operand> Base64Url(Call& c);
core::Result<Operand> Capitalize(Call& c);
core::Result<Operand> Ceil(Call& c);
core::Result<Operand> Contains(Call& c);
core::Result<Operand> DecodeUrl(Call& c);
core::Result<Operand> Deduplicate(Call& c);
core::Result<Operand> Distinct(Call& c);
core::Result<Operand> EmptyArray(Call& c);
core::Result<Operand> EmptyString(Call& c);
core::Result<Operand> EncodeUrl(Call& c);
core::Result<Operand> EndsWith(Call& c);
core::Result<Operand> Equal(Call& c);
core::Result<Operand> EscapeHtml(Call& c);
core::Result<Operand> First(Call& c);
core::Result<Operand> Flatten(Call& c);
core::Result<Operand> Floor(Call& c);
core::Result<Operand> FormatDateFn(Call& c);
core::Result<Operand> FormatNumber(Call& c);
core::Result<Operand> Get(Call& c);
core::Result<Operand> IndexOf(Call& c);
core::Result<Operand> Join(Call& c);
core::Result<Operand> Keys(Call& c);
core::Result<Operand> Last(Call& c);
core::Result<Operand> Length(Call& c);
core::Result<Operand> Lower(Call& c);
core::Result<Operand> Map(Call& c);
core::Result<Operand> Max(Call& c);
core::Result<Operand> Md5(Call& c);
core::Result<Operand> Median(Call& c);
core::Result<Operand> Merge(Call& c);
core::Result<Operand> Min(Call& c);
core::Result<Operand> Now(Call& c);
core::Result<Operand> Omit(Call& c);
core::Result<Operand> ParseDate(Call& c);
core::Result<Operand> ParseNumber(Call& c);
core::Result<Operand> Pick(Call& c);
core::Result<Operand> RandomFn(Call& c);
core::Result<Operand> Remove(Call& c);
core::Result<Operand> Replace(Call& c);
core::Result<Operand> Reverse(Call& c);
core::Result<Operand> Round(Call& c);
core::Result<Operand> Sha1(Call& c);
core::Result<Operand> Sha256(Call& c);
core::Result<Operand> Sha512(Call& c);
core::Result<Operand> Shuffle(Call& c);
core::Result<Operand> Slice(Call& c);
core::Result<Operand> Sort(Call& c);
core::Result<Operand> Split(Call& c);
core::Result<Operand> StartCase(Call& c);
core::Result<Operand> StartsWith(Call& c);
core::Result<Operand> StripHtml(Call& c);
core::Result<Operand> Substring(Call& c);
core::Result<Operand> Sum(Call& c);
core::Result<Operand> Timestamp(Call& c);
core::Result<Operand> ToArray(Call& c);
core::Result<Operand> ToBinary(Call& c);
core::Result<Operand> ToCollection(Call& c);
core::Result<Operand> ToNumberFn(Call& c);
core::Result<Operand> ToStringFn(Call& c);
core::Result<Operand> Trim(Call& c);
core::Result<Operand> Trunc(Call& c);
core::Result<Operand> Upper(Call& c);
core::Result<Operand> Uuid(Call& c);

}  // namespace switchboard::iml::fn
