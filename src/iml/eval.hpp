#pragma once
// Tree-walking evaluation of parsed expressions (internal to the iml module).
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "iml/ast.hpp"
#include "iml/template.hpp"

namespace switchboard::iml {

class TimeZone;

// An evaluation result that either borrows a value living in the context (paths: no copy) or owns one.
class Operand {
  public:
    Operand() = default;  // null
    static Operand Borrow(const boost::json::value& v) {
        Operand o;
        o.borrowed_ = &v;
        return o;
    }
    static Operand Own(boost::json::value v) {
        Operand o;
        o.owned_ = std::move(v);
        return o;
    }
    const boost::json::value& get() const { return borrowed_ != nullptr ? *borrowed_ : owned_; }
    bool borrowed() const { return borrowed_ != nullptr; }
    boost::json::value Take() && { return borrowed_ != nullptr ? boost::json::value(*borrowed_) : std::move(owned_); }
    // A part of this operand's value (an element, a member): borrowed when this is, else copied out.
    Operand Part(const boost::json::value& part) const {
        return borrowed_ != nullptr ? Borrow(part) : Own(boost::json::value(part));
    }

  private:
    const boost::json::value* borrowed_ = nullptr;
    boost::json::value owned_;
};

// What one render may still spend; shared by every template a ValueTemplate renders.
struct Budget {
    std::size_t bytes_left = 0;
    std::uint64_t steps_left = 0;
};

class Evaluator {
  public:
    // `source` is the template text (for error columns); both it and `budget` outlive the evaluator.
    Evaluator(const Context& ctx, std::string_view source, Budget& budget);

    core::Result<Operand> Eval(const Node& node);

    const Context& context() const { return ctx_; }
    // "column 7: <what>" (or "line 2, column 3: ...") for the byte offset in the template text.
    core::Error ErrorAt(std::uint32_t offset, std::string_view what) const;
    // Whether `bytes` more output still fits the render's budget.
    bool Fits(std::size_t bytes) const { return bytes <= budget_.bytes_left; }
    core::Error TooLarge() const;
    // Spends budget on a value this render created.
    bool Charge(std::size_t bytes);
    std::uint64_t& steps() { return budget_.steps_left; }

    core::Result<std::int64_t> NowMillis() const;
    // The context's time zone, looked up once per evaluator.
    core::Result<std::shared_ptr<const TimeZone>> DefaultZone();

  private:
    core::Result<Operand> EvalPath(const Node& node);
    core::Result<Operand> EvalUnary(const Node& node);
    core::Result<Operand> EvalBinary(const Node& node);
    core::Result<Operand> EvalLogical(const Node& node);
    core::Result<Operand> EvalCall(const Node& node);
    core::Result<Operand> EvalSwitch(const Node& node);
    core::Result<Operand> Arithmetic(const Node& node, const boost::json::value& a, const boost::json::value& b);

    const Context& ctx_;
    std::string_view source_;
    Budget& budget_;
    std::shared_ptr<const TimeZone> default_zone_;
};

}  // namespace switchboard::iml
