// A recursive-descent parser for row filters: or := and ('||' and)*, and := not ('&&' not)*,
// not := '!' not | '(' or ')' | operand cmp operand, operand := name | number.
#include <cctype>
#include <charconv>
#include <variant>

#include <fmt/core.h>

#include "table/table.h"

namespace scalelab {

struct Predicate::Node {
  enum class Kind { Or, And, Not, Compare } kind;
  std::string op;  // for Compare: < <= > >= == !=
  std::variant<std::string, double> lhs, rhs;
  std::shared_ptr<const Node> a, b;
};

namespace {

using NodePtr = std::shared_ptr<const Predicate::Node>;
using Node = Predicate::Node;

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  NodePtr parse() {
    auto node = parse_or();
    skip_space();
    if (pos_ != text_.size()) fail(fmt::format("unexpected '{}'", text_.substr(pos_)));
    return node;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_, 0, "", fmt::format("{} at column {} of '{}'", what, pos_ + 1, text_));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  NodePtr parse_or() {
    auto left = parse_and();
    while (eat("||")) left = std::make_shared<Node>(Node{Node::Kind::Or, "", {}, {}, left, parse_and()});
    return left;
  }
  NodePtr parse_and() {
    auto left = parse_not();
    while (eat("&&")) left = std::make_shared<Node>(Node{Node::Kind::And, "", {}, {}, left, parse_not()});
    return left;
  }
  NodePtr parse_not() {
    skip_space();
    if (text_.substr(pos_, 2) != "!=" && eat("!"))
      return std::make_shared<Node>(Node{Node::Kind::Not, "", {}, {}, parse_not(), nullptr});
    if (eat("(")) {
      auto inner = parse_or();
      if (!eat(")")) fail("expected ')'");
      return inner;
    }
    auto lhs = parse_operand();
    std::string op;
    for (std::string_view candidate : {"<=", ">=", "==", "!=", "<", ">"}) {
      if (eat(candidate)) {
        op = candidate;
        break;
      }
    }
    if (op.empty()) fail("expected a comparison (< <= > >= == !=)");
    auto rhs = parse_operand();
    return std::make_shared<Node>(Node{Node::Kind::Compare, op, lhs, rhs, nullptr, nullptr});
  }
  std::variant<std::string, double> parse_operand() {
    skip_space();
    std::size_t start = pos_;
    if (pos_ < text_.size() && (std::isalpha(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' || text_[pos_] == '.'))
        ++pos_;
      return std::string(text_.substr(start, pos_ - start));
    }
    double value = 0;
    const char* begin = text_.data() + pos_;
    if (pos_ < text_.size() && text_[pos_] == '+') ++begin;
    auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), value);
    if (ec != std::errc() || end == begin) fail("expected a name or a number");
    pos_ = end - text_.data();
    return value;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

void collect_names(const NodePtr& node, std::vector<std::string>& out) {
  if (!node) return;
  if (node->kind == Node::Kind::Compare)
    for (const auto* operand : {&node->lhs, &node->rhs})
      if (auto* name = std::get_if<std::string>(operand)) {
        bool seen = false;
        for (const auto& n : out) seen = seen || n == *name;
        if (!seen) out.push_back(*name);
      }
  collect_names(node->a, out);
  collect_names(node->b, out);
}

bool evaluate(const Node& node, const std::function<double(std::string_view)>& lookup) {
  switch (node.kind) {
    case Node::Kind::Or: return evaluate(*node.a, lookup) || evaluate(*node.b, lookup);
    case Node::Kind::And: return evaluate(*node.a, lookup) && evaluate(*node.b, lookup);
    case Node::Kind::Not: return !evaluate(*node.a, lookup);
    case Node::Kind::Compare: break;
  }
  auto value = [&](const std::variant<std::string, double>& v) {
    if (auto* name = std::get_if<std::string>(&v)) return lookup(*name);
    return std::get<double>(v);
  };
  double l = value(node.lhs), r = value(node.rhs);
  const std::string& op = node.op;
  if (op == "<") return l < r;
  if (op == "<=") return l <= r;
  if (op == ">") return l > r;
  if (op == ">=") return l >= r;
  if (op == "==") return l == r;
  return l != r;
}

}  // namespace

Predicate Predicate::parse(std::string_view text, const std::string& source) {
  Predicate p;
  p.root_ = Parser(text, source).parse();
  p.text_ = std::string(text);
  return p;
}

bool Predicate::operator()(const std::function<double(std::string_view)>& lookup) const {
  return root_ ? evaluate(*root_, lookup) : true;
}

std::vector<std::string> Predicate::names() const {
  std::vector<std::string> out;
  collect_names(root_, out);
  return out;
}

}  // namespace scalelab
