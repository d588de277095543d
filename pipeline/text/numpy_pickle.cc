#include "pipeline/text/numpy_pickle.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "absl/strings/str_format.h"
#include "pipeline/base/checked_math.h"
#include "pipeline/base/strings.h"

namespace maskfeed::text {
namespace {

using Kind = PyObject::Kind;
using Mutable = std::shared_ptr<PyObject>;

constexpr int kMaxDepth = 32;
constexpr size_t kMaxObjects = 1 << 22;
constexpr size_t kMaxMemo = 1 << 22;

// What a REDUCE of an allowed global makes before its BUILD.
enum class Callable { kNone, kReconstruct, kDtype, kEncode };

struct Item {
  Mutable object;
  Callable callable = Callable::kNone;  // a GLOBAL on the stack
  bool mark = false;
};

size_t ItemBytes(std::string_view dtype) {
  if (dtype.size() < 3) return 0;
  const char kind = dtype[1];
  if (kind != 'i' && kind != 'u' && kind != 'f' && kind != 'b') return 0;
  const int n = dtype[2] - '0';
  return dtype.size() == 3 && (n == 1 || n == 2 || n == 4 || n == 8) ? static_cast<size_t>(n) : 0;
}

class Machine {
 public:
  explicit Machine(std::string_view in) : in_(in) {}

  absl::StatusOr<PyRef> Run() {
    while (pos_ < in_.size()) {
      const size_t at = pos_;
      const auto op = static_cast<uint8_t>(in_[pos_++]);
      absl::Status s = Step(op);
      if (!s.ok()) return absl::DataLossError(StrCat("pickle byte ", at, ": ", s.message()));
      if (done_) {
        if (stack_.size() != 1 || stack_[0].mark || stack_[0].callable != Callable::kNone) {
          return absl::DataLossError("pickle: STOP with a malformed stack");
        }
        return PyRef(stack_[0].object);
      }
    }
    return absl::DataLossError("pickle: truncated (no STOP)");
  }

 private:
  absl::Status Bad(std::string_view what) { return absl::DataLossError(std::string(what)); }

  absl::StatusOr<std::string_view> Take(uint64_t n) {
    if (n > in_.size() - pos_) return Bad("truncated");
    std::string_view v = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return v;
  }
  absl::StatusOr<uint64_t> Uint(int bytes) {
    absl::StatusOr<std::string_view> v = Take(static_cast<uint64_t>(bytes));
    if (!v.ok()) return v.status();
    uint64_t x = 0;
    for (int i = bytes - 1; i >= 0; --i) x = x << 8 | static_cast<uint8_t>((*v)[i]);
    return x;
  }
  absl::StatusOr<std::string_view> Line() {
    const size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) return Bad("truncated line");
    std::string_view v = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }

  Mutable New(Kind kind) {
    auto o = std::make_shared<PyObject>();
    o->kind = kind;
    ++objects_;
    return o;
  }
  absl::Status Push(Mutable o) {
    if (objects_ > kMaxObjects) return Bad("too many objects");
    stack_.push_back(Item{std::move(o)});
    return absl::OkStatus();
  }
  absl::StatusOr<Item> Pop() {
    if (stack_.empty() || stack_.back().mark) return Bad("stack underflow");
    Item it = std::move(stack_.back());
    stack_.pop_back();
    return it;
  }
  // The items above the topmost mark, which is removed.
  absl::StatusOr<std::vector<Item>> PopMark() {
    auto mark = std::find_if(stack_.rbegin(), stack_.rend(), [](const Item& i) { return i.mark; });
    if (mark == stack_.rend()) return Bad("no MARK");
    const size_t from = static_cast<size_t>(stack_.rend() - mark);
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + from),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(from - 1);
    return items;
  }
  // Places `child` inside `parent` (a list, tuple or dict being built).
  absl::Status Contain(PyObject& parent, Item& child) {
    if (child.callable != Callable::kNone || !child.object) return Bad("a callable as data");
    if (child.object.get() == &parent) return Bad("a container inside itself");
    parent.depth = std::max(parent.depth, child.object->depth + 1);
    if (parent.depth > kMaxDepth) return Bad("nesting deeper than 32");
    contained_.emplace(child.object.get(), child.object);
    return absl::OkStatus();
  }
  absl::StatusOr<PyObject*> Target(Kind kind) {
    if (stack_.empty() || stack_.back().mark || !stack_.back().object ||
        stack_.back().object->kind != kind) {
      return Bad("append to something that is not a list or dict");
    }
    PyObject* target = stack_.back().object.get();
    if (contained_.count(target)) return Bad("a container changed after it was placed");
    return target;
  }
  absl::Status Append(std::vector<Item> items) {
    absl::StatusOr<PyObject*> list = Target(Kind::kList);
    if (!list.ok()) return list.status();
    for (Item& i : items) {
      if (absl::Status s = Contain(**list, i); !s.ok()) return s;
      (*list)->items.push_back(i.object);
    }
    return absl::OkStatus();
  }
  absl::Status SetItems(std::vector<Item> items) {
    if (items.size() % 2 != 0) return Bad("odd number of dict items");
    absl::StatusOr<PyObject*> dict = Target(Kind::kDict);
    if (!dict.ok()) return dict.status();
    for (size_t i = 0; i < items.size(); i += 2) {
      for (Item* x : {&items[i], &items[i + 1]}) {
        if (absl::Status s = Contain(**dict, *x); !s.ok()) return s;
      }
      (*dict)->entries.emplace_back(items[i].object, items[i + 1].object);
    }
    return absl::OkStatus();
  }
  absl::Status Tuple(std::vector<Item> items) {
    Mutable t = New(Kind::kTuple);
    for (Item& i : items) {
      if (absl::Status s = Contain(*t, i); !s.ok()) return s;
      t->items.push_back(i.object);
    }
    return Push(std::move(t));
  }
  absl::Status Global(std::string_view module, std::string_view name) {
    Callable c = Callable::kNone;
    if ((module == "numpy.core.multiarray" || module == "numpy._core.multiarray") &&
        name == "_reconstruct") {
      c = Callable::kReconstruct;
    } else if (module == "numpy" && name == "dtype") {
      c = Callable::kDtype;
    } else if (module == "_codecs" && name == "encode") {
      c = Callable::kEncode;
    } else if (module == "numpy" && name == "ndarray") {
      stack_.push_back(Item{New(Kind::kNone)});  // the class argument of _reconstruct
      return absl::OkStatus();
    } else {
      return Bad(StrCat("global ", Printable(module), ".", Printable(name),
                        " is not one NumPy writes for arrays (not allowed)"));
    }
    stack_.push_back(Item{nullptr, c});
    return absl::OkStatus();
  }
  absl::Status Reduce() {
    absl::StatusOr<Item> args = Pop();
    if (!args.ok()) return args.status();
    absl::StatusOr<Item> fn = Pop();
    if (!fn.ok()) return fn.status();
    if (!args->object || args->object->kind != Kind::kTuple) return Bad("REDUCE without a tuple");
    const std::vector<PyRef>& a = args->object->items;
    switch (fn->callable) {
      case Callable::kReconstruct: {
        Mutable array = New(Kind::kArray);
        array->text = "?";
        return Push(std::move(array));
      }
      case Callable::kDtype: {
        if (a.empty() || a[0]->kind != Kind::kStr) return Bad("dtype() without a name");
        Mutable dtype = New(Kind::kStr);
        dtype->text = a[0]->text;  // "i4", "f8", "O8", "b1"; the byte order comes with BUILD
        dtype->integer = -1;       // marks a dtype
        return Push(std::move(dtype));
      }
      case Callable::kEncode: {
        if (a.empty() || a[0]->kind != Kind::kStr) return Bad("_codecs.encode without a str");
        Mutable bytes = New(Kind::kBytes);
        // latin-1: every code point below 256 is one byte.
        const std::string& s = a[0]->text;
        for (size_t i = 0; i < s.size();) {
          const auto c = static_cast<uint8_t>(s[i]);
          if (c < 0x80) {
            bytes->text.push_back(static_cast<char>(c));
            ++i;
          } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s.size()) {
            bytes->text.push_back(static_cast<char>(((c & 0x03) << 6) | (s[i + 1] & 0x3f)));
            i += 2;
          } else {
            return Bad("_codecs.encode of a str beyond latin-1");
          }
        }
        return Push(std::move(bytes));
      }
      case Callable::kNone:
        break;
    }
    return Bad("REDUCE of something that is not an allowed global");
  }
  absl::Status Build() {
    absl::StatusOr<Item> state = Pop();
    if (!state.ok()) return state.status();
    if (stack_.empty() || !stack_.back().object) return Bad("BUILD without an object");
    PyObject& target = *stack_.back().object;
    if (!state->object || state->object->kind != Kind::kTuple)
      return Bad("BUILD state not a tuple");
    const std::vector<PyRef>& st = state->object->items;
    if (target.kind == Kind::kStr && target.integer == -1) {  // dtype: (3, '<', ...)
      if (st.size() < 2 || st[1]->kind != Kind::kStr || st[1]->text.size() != 1) {
        return Bad("dtype state");
      }
      target.text = StrCat(st[1]->text, target.text);
      return absl::OkStatus();
    }
    if (target.kind != Kind::kArray || target.text != "?") return Bad("BUILD on a non-array");
    // NumPy builds an array right after reconstructing it; one already placed elsewhere could
    // be in its own data (a cycle).
    if (contained_.count(&target)) return Bad("BUILD of an array already placed");
    // (version, shape, dtype, fortran, data) or, older, without the version.
    const size_t base = st.size() == 5 ? 1 : 0;
    if (st.size() != 4 + base || st[base]->kind != Kind::kTuple ||
        st[base + 1]->kind != Kind::kStr || st[base + 1]->integer != -1) {
      return Bad("ndarray state");
    }
    if (st[base + 2]->kind == Kind::kBool && st[base + 2]->integer != 0) {
      return Bad("Fortran-ordered array");
    }
    uint64_t count = 1;
    for (const PyRef& d : st[base]->items) {
      if (d->kind != Kind::kInt || d->integer < 0) return Bad("array shape");
      std::optional<uint64_t> n = CheckedMul(count, static_cast<uint64_t>(d->integer));
      if (!n || *n > (uint64_t{1} << 32)) return Bad("array too large");
      count = *n;
      target.shape.push_back(d->integer);
    }
    std::string dtype = st[base + 1]->text;
    if (dtype.size() == 3 && dtype[2] == '1') dtype[0] = '|';  // one byte: no order
    if (dtype.size() > 1 && dtype[1] == 'O') dtype = "|O";
    target.text = dtype;
    const PyObject& data = *st[base + 3];
    if (dtype == "|O") {
      if (data.kind != Kind::kList || data.items.size() != count) {
        return Bad("object array data is not a list of its size");
      }
      target.items = data.items;
      target.depth = data.depth + 1;
      if (target.depth > kMaxDepth) return Bad("nesting deeper than 32");
      return absl::OkStatus();
    }
    const size_t item = ItemBytes(dtype);
    if (item == 0 || (dtype[0] == '>' && item > 1)) {
      return Bad(StrCat("array dtype ", Printable(dtype), " is not read"));
    }
    if (data.kind != Kind::kBytes || data.text.size() != count * item) {
      return Bad("array data does not match its shape");
    }
    target.data = data.text;
    return absl::OkStatus();
  }

  absl::Status Step(uint8_t op) {
    switch (op) {
      case 0x80:
        return Take(1).status();  // PROTO
      case 0x95:
        return Take(8).status();  // FRAME: frames are read inline
      case '.':
        done_ = true;
        return absl::OkStatus();
      case '(':
        stack_.push_back(Item{nullptr, Callable::kNone, true});
        return absl::OkStatus();
      case 'N':
        return Push(New(Kind::kNone));
      case 0x88:
      case 0x89: {
        Mutable b = New(Kind::kBool);
        b->integer = op == 0x88;
        return Push(std::move(b));
      }
      case 'K':
      case 'M':
      case 'J': {
        absl::StatusOr<uint64_t> v = Uint(op == 'K' ? 1 : op == 'M' ? 2 : 4);
        if (!v.ok()) return v.status();
        Mutable i = New(Kind::kInt);
        i->integer =
            op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(*v)) : static_cast<int64_t>(*v);
        return Push(std::move(i));
      }
      case 0x8a: {  // LONG1
        absl::StatusOr<uint64_t> n = Uint(1);
        if (!n.ok()) return n.status();
        if (*n > 8) return Bad("integer wider than 64 bits");
        absl::StatusOr<uint64_t> v = *n == 0 ? absl::StatusOr<uint64_t>(0) : Uint(int(*n));
        if (!v.ok()) return v.status();
        uint64_t x = *v;
        if (*n > 0 && *n < 8 && (x >> (8 * *n - 1)) & 1) x |= ~uint64_t{0} << (8 * *n);
        Mutable i = New(Kind::kInt);
        i->integer = static_cast<int64_t>(x);
        return Push(std::move(i));
      }
      case 'G': {
        absl::StatusOr<std::string_view> v = Take(8);
        if (!v.ok()) return v.status();
        uint64_t bits = 0;
        for (char c : *v) bits = bits << 8 | static_cast<uint8_t>(c);
        Mutable f = New(Kind::kFloat);
        f->real = std::bit_cast<double>(bits);
        return Push(std::move(f));
      }
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'B':
      case 'C':
      case 0x8e: {
        const int width = (op == 0x8c || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        absl::StatusOr<uint64_t> n = Uint(width);
        if (!n.ok()) return n.status();
        absl::StatusOr<std::string_view> v = Take(*n);
        if (!v.ok()) return v.status();
        Mutable s = New(op == 'X' || op == 0x8c || op == 0x8d ? Kind::kStr : Kind::kBytes);
        s->text = std::string(*v);
        return Push(std::move(s));
      }
      case ')':
        return Tuple({});
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t n = op - 0x84u;
        if (stack_.size() < n) return Bad("stack underflow");
        std::vector<Item> items;
        for (size_t i = 0; i < n; ++i) {
          absl::StatusOr<Item> it = Pop();
          if (!it.ok()) return it.status();
          items.insert(items.begin(), std::move(*it));
        }
        return Tuple(std::move(items));
      }
      case 't': {
        absl::StatusOr<std::vector<Item>> items = PopMark();
        if (!items.ok()) return items.status();
        return Tuple(std::move(*items));
      }
      case ']':
        return Push(New(Kind::kList));
      case '}':
        return Push(New(Kind::kDict));
      case 'a': {
        absl::StatusOr<Item> it = Pop();
        if (!it.ok()) return it.status();
        std::vector<Item> one;
        one.push_back(std::move(*it));
        return Append(std::move(one));
      }
      case 'e': {
        absl::StatusOr<std::vector<Item>> items = PopMark();
        if (!items.ok()) return items.status();
        return Append(std::move(*items));
      }
      case 's': {
        absl::StatusOr<Item> v = Pop();
        if (!v.ok()) return v.status();
        absl::StatusOr<Item> k = Pop();
        if (!k.ok()) return k.status();
        std::vector<Item> two;
        two.push_back(std::move(*k));
        two.push_back(std::move(*v));
        return SetItems(std::move(two));
      }
      case 'u': {
        absl::StatusOr<std::vector<Item>> items = PopMark();
        if (!items.ok()) return items.status();
        return SetItems(std::move(*items));
      }
      case 'q':
      case 'r':
      case 0x94: {
        uint64_t index = memo_.size();
        if (op != 0x94) {
          absl::StatusOr<uint64_t> v = Uint(op == 'q' ? 1 : 4);
          if (!v.ok()) return v.status();
          index = *v;
        }
        if (stack_.empty() || stack_.back().mark) return Bad("memoize with an empty stack");
        if (memo_.size() >= kMaxMemo) return Bad("too many memo entries");
        memo_[index] = stack_.back();
        return absl::OkStatus();
      }
      case 'h':
      case 'j': {
        absl::StatusOr<uint64_t> v = Uint(op == 'h' ? 1 : 4);
        if (!v.ok()) return v.status();
        auto it = memo_.find(*v);
        if (it == memo_.end()) return Bad("memo entry missing");
        stack_.push_back(it->second);
        return absl::OkStatus();
      }
      case 'c': {
        absl::StatusOr<std::string_view> module = Line();
        if (!module.ok()) return module.status();
        absl::StatusOr<std::string_view> name = Line();
        if (!name.ok()) return name.status();
        return Global(*module, *name);
      }
      case 0x93: {
        absl::StatusOr<Item> name = Pop();
        if (!name.ok()) return name.status();
        absl::StatusOr<Item> module = Pop();
        if (!module.ok()) return module.status();
        if (!name->object || !module->object || name->object->kind != Kind::kStr ||
            module->object->kind != Kind::kStr) {
          return Bad("STACK_GLOBAL without two str");
        }
        return Global(module->object->text, name->object->text);
      }
      case 'R':
        return Reduce();
      case 'b':
        return Build();
      default:
        return Bad(StrCat("opcode 0x", absl::Hex(op), " is not one NumPy's pickles use"));
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool done_ = false;
  std::vector<Item> stack_;
  std::unordered_map<uint64_t, Item> memo_;
  // Objects placed inside a container, by address. Each is held here too, so that its address
  // is not reused while parsing (a pickle without memo frees what it consumed: numpy writes a
  // memo, other writers need not).
  std::unordered_map<const PyObject*, PyRef> contained_;
  size_t objects_ = 0;
};

}  // namespace

const PyObject* PyObject::Get(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k->kind == Kind::kStr && k->text == key) return v.get();
  }
  return nullptr;
}

absl::StatusOr<std::vector<int64_t>> PyObject::Ints() const {
  const size_t item = ItemBytes(text);
  if (kind != Kind::kArray || item == 0 || text[1] == 'f') {
    return absl::DataLossError(StrCat("not an integer array (", text, ")"));
  }
  std::vector<int64_t> out(data.size() / item);
  for (size_t i = 0; i < out.size(); ++i) {
    const char* p = data.data() + i * item;
    const bool sign = text[1] == 'i';
    uint64_t x = 0;
    std::memcpy(&x, p, item);
    if (sign && item < 8 && (x >> (8 * item - 1)) & 1) x |= ~uint64_t{0} << (8 * item);
    out[i] = static_cast<int64_t>(x);
  }
  return out;
}

absl::StatusOr<std::vector<double>> PyObject::Reals() const {
  const size_t item = ItemBytes(text);
  if (kind != Kind::kArray || item == 0) {
    return absl::DataLossError(StrCat("not a numeric array (", text, ")"));
  }
  if (text[1] != 'f') {
    absl::StatusOr<std::vector<int64_t>> ints = Ints();
    if (!ints.ok()) return ints.status();
    return std::vector<double>(ints->begin(), ints->end());
  }
  if (item == 2) return absl::DataLossError("float16 arrays are not read here");
  std::vector<double> out(data.size() / item);
  for (size_t i = 0; i < out.size(); ++i) {
    if (item == 4) {
      float f;
      std::memcpy(&f, data.data() + i * 4, 4);
      out[i] = f;
    } else {
      std::memcpy(&out[i], data.data() + i * 8, 8);
    }
  }
  return out;
}

absl::StatusOr<PyRef> ReadNumpyPickle(std::string_view bytes) { return Machine(bytes).Run(); }

}  // namespace maskfeed::text
