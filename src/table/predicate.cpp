// A recursive-descent parser for row filters: or := and ('||' and)*, and := not ('&&' not)*,
// not := '!' not | '(' or ')' | operand cmp operand, operand := name | number.
// Recursion is bounded everywhere: nesting by '(' and '!' is limited to kMaxDepth (a deeper filter is
// an InputError, not a stack overflow), and chains of && / || are kept as one node with many
// children, so evaluating, listing names and destroying the tree recurse at most kMaxDepth deep.
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
  std::vector<std::shared_ptr<const Node>> children;  // Or, And: two or more; Not: one
};

namespace {

using NodePtr = std::shared_ptr<const Predicate::Node>;
using Node = Predicate::Node;

constexpr int kMaxDepth = 100;

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
    // A long filter is shown by its start: the column number says where.
    std::string shown = text_.size() > 80 ? std::string(text_.substr(0, 60)) + "..." : std::string(text_);
    throw InputError(source_, 0, "", fmt::format("{} at column {} of '{}'", what, pos_ + 1, shown));
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
    std::vector<NodePtr> terms{parse_and()};
    while (eat("||")) terms.push_back(parse_and());
    if (terms.size() == 1) return terms[0];
    return std::make_shared<Node>(Node{Node::Kind::Or, "", {}, {}, std::move(terms)});
  }
  NodePtr parse_and() {
    std::vector<NodePtr> terms{parse_not()};
    while (eat("&&")) terms.push_back(parse_not());
    if (terms.size() == 1) return terms[0];
    return std::make_shared<Node>(Node{Node::Kind::And, "", {}, {}, std::move(terms)});
  }
  // Each '!' or '(' is one level deeper; past kMaxDepth the filter is refused before recursing.
  void enter() {
    if (++depth_ > kMaxDepth) fail(fmt::format("nested more than {} deep", kMaxDepth));
  }
  NodePtr parse_not() {
    skip_space();
    if (text_.substr(pos_, 2) != "!=" && eat("!")) {
      enter();
      auto inner = parse_not();
      --depth_;
      return std::make_shared<Node>(Node{Node::Kind::Not, "", {}, {}, {std::move(inner)}});
    }
    if (eat("(")) {
      enter();
      auto inner = parse_or();
      if (!eat(")")) fail("expected ')'");
      --depth_;
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
    return std::make_shared<Node>(Node{Node::Kind::Compare, op, lhs, rhs, {}});
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
  int depth_ = 0;
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
  for (const auto& child : node->children) collect_names(child, out);
}

bool evaluate(const Node& node, const std::function<double(std::string_view)>& lookup) {
  switch (node.kind) {
    case Node::Kind::Or:
      for (const auto& child : node.children)
        if (evaluate(*child, lookup)) return true;
      return false;
    case Node::Kind::And:
      for (const auto& child : node.children)
        if (!evaluate(*child, lookup)) return false;
      return true;
    case Node::Kind::Not: return !evaluate(*node.children[0], lookup);
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
