#include "pipeline/tools/numpy_pickle_writer.h"

#include "pipeline/shard/npy.h"

namespace maskfeed {
namespace {

// Pickle opcodes (Python's pickletools names them).
constexpr char kMark = '(';
constexpr char kStop = '.';
constexpr char kGlobal = 'c';
constexpr char kReduce = 'R';
constexpr char kBuild = 'b';
constexpr char kTuple = 't';
constexpr char kTuple1 = '\x85';
constexpr char kTuple3 = '\x87';
constexpr char kNone = 'N';
constexpr char kNewTrue = '\x88';
constexpr char kNewFalse = '\x89';
constexpr char kEmptyList = ']';
constexpr char kAppends = 'e';
constexpr char kEmptyDict = '}';
constexpr char kSetItems = 'u';
constexpr char kBinInt = 'J';
constexpr char kBinUnicode = 'X';
constexpr char kShortBinBytes = 'C';
constexpr char kBinBytes = 'B';

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

void NumpyPickleWriter::Int(int64_t v) {
  // Every int here (shapes, dtype fields) fits BININT's 32 bits.
  pickle_.push_back(kBinInt);
  Put32(&pickle_, static_cast<uint32_t>(static_cast<int32_t>(v)));
}

void NumpyPickleWriter::Str(std::string_view text) {
  pickle_.push_back(kBinUnicode);
  Put32(&pickle_, static_cast<uint32_t>(text.size()));
  pickle_.append(text);
}

void NumpyPickleWriter::Bytes(std::string_view data) {
  if (data.size() < 256) {
    pickle_.push_back(kShortBinBytes);
    pickle_.push_back(static_cast<char>(data.size()));
  } else {
    pickle_.push_back(kBinBytes);
    Put32(&pickle_, static_cast<uint32_t>(data.size()));
  }
  pickle_.append(data);
}

// numpy.core.multiarray._reconstruct(ndarray, (0,), b'b'), then the BUILD state's MARK, its
// version 1, shape and dtype(type, False, True) with its own state
// (3, byte_order, None, None, None, -1, -1, flags).
void NumpyPickleWriter::ArrayHead(const std::vector<int64_t>& shape, std::string_view type,
                                  char byte_order, int flags) {
  pickle_ += "cnumpy.core.multiarray\n_reconstruct\n";
  pickle_ += "cnumpy\nndarray\n";
  Int(0);
  pickle_.push_back(kTuple1);
  Bytes("b");
  pickle_.push_back(kTuple3);
  pickle_.push_back(kReduce);
  pickle_.push_back(kMark);
  Int(1);
  pickle_.push_back(kMark);
  for (int64_t d : shape) Int(d);
  pickle_.push_back(kTuple);
  pickle_ += "cnumpy\ndtype\n";
  Str(type);
  pickle_.push_back(kNewFalse);
  pickle_.push_back(kNewTrue);
  pickle_.push_back(kTuple3);
  pickle_.push_back(kReduce);
  pickle_.push_back(kMark);
  Int(3);
  Str(std::string_view(&byte_order, 1));
  pickle_.push_back(kNone);
  pickle_.push_back(kNone);
  pickle_.push_back(kNone);
  Int(-1);
  Int(-1);
  Int(flags);
  pickle_.push_back(kTuple);
  pickle_.push_back(kBuild);
  pickle_.push_back(kNewFalse);  // not Fortran order
}

void NumpyPickleWriter::BeginObjectArray(int64_t n) {
  length_ = n;
  ArrayHead({n}, "O8", '|', 63);  // 63: the object dtype's flags, as numpy pickles them
  pickle_.push_back(kEmptyList);
  pickle_.push_back(kMark);
}

void NumpyPickleWriter::EndObjectArray() {
  pickle_.push_back(kAppends);
  pickle_.push_back(kTuple);  // closes the BUILD state
  pickle_.push_back(kBuild);
  pickle_.push_back(kStop);
}

void NumpyPickleWriter::BeginDict() {
  pickle_.push_back(kEmptyDict);
  pickle_.push_back(kMark);
}

void NumpyPickleWriter::EndDict() { pickle_.push_back(kSetItems); }

void NumpyPickleWriter::BeginList() {
  pickle_.push_back(kEmptyList);
  pickle_.push_back(kMark);
}

void NumpyPickleWriter::EndList() { pickle_.push_back(kAppends); }

void NumpyPickleWriter::Array(std::string_view descr, const std::vector<int64_t>& shape,
                              std::string_view data) {
  ArrayHead(shape, descr.substr(1), descr.front(), 0);
  Bytes(data);
  pickle_.push_back(kTuple);
  pickle_.push_back(kBuild);
}

std::string NumpyPickleWriter::Npy() const {
  Shape shape;
  shape.rank = 1;
  shape.dims[0] = length_;
  return EncodeNpyHeader("|O", shape) + pickle_;
}

}  // namespace maskfeed
