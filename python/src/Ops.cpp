// terrazzo._terrazzo.ops: numpy arrays in, numpy arrays out; the checks,
// tile sizes and launches are the C++ library's (kernels/lib).
#include "Ops.h"
#include "DeviceTensors.h"
#include "HostValues.h"

#include "terrazzo/ops/Attention.h"
#include "terrazzo/ops/CosineSimAttention.h"
#include "terrazzo/ops/LightningAttention.h"
#include "terrazzo/ops/FocusedLinearAttention.h"
#include "terrazzo/ops/AgentAttention.h"
#include "terrazzo/ops/AttentionMerge.h"
#include "terrazzo/ops/Tuning.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

namespace py = pybind11;
using terrazzo::ops::TensorArg;

namespace terrazzo::python {

namespace {
// A torch tensor (CPU or CUDA): pointer, dtype, shape and strides read
// through its attributes.
TensorArg torchTensorArg(const py::handle &obj) {
  TensorArg t;
  t.data = reinterpret_cast<void *>(obj.attr("data_ptr")().cast<uintptr_t>());
  std::string dtype = py::str(obj.attr("dtype")).cast<std::string>();
  t.dtype = dtype.rfind("torch.", 0) == 0 ? dtype.substr(6) : dtype;
  if (t.dtype == "bool")
    t.dtype = "int1";
  for (auto d : obj.attr("shape"))
    t.shape.push_back(d.cast<int64_t>());
  for (auto s : obj.attr("stride")().cast<py::tuple>())
    t.strides.push_back(s.cast<int64_t>());
  if (obj.attr("is_cuda").cast<bool>()) {
    t.device = TensorArg::Device::Cuda;
    py::object index = obj.attr("device").attr("index");
    t.deviceIndex = index.is_none() ? 0 : index.cast<int>();
  }
  return t;
}

TensorArg tensorArg(const py::handle &obj, const std::string &name) {
  if (py::hasattr(obj, "data_ptr") && py::hasattr(obj, "is_cuda") && py::hasattr(obj, "stride"))
    return torchTensorArg(obj);
  if (!py::isinstance<py::array>(obj))
    throw py::type_error("argument '" + name + "': expected a numpy array or torch tensor, got " +
                         py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>());
  auto a = py::reinterpret_borrow<py::array>(obj);
  TensorArg t;
  t.data = const_cast<void *>(a.data());
  t.dtype = py::str(a.dtype()).cast<std::string>();
  if (t.dtype == "bool")
    t.dtype = "int1";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    t.shape.push_back(a.shape(d));
    if (a.strides(d) % a.itemsize() != 0)
      throw py::value_error("argument '" + name + "': strides must be multiples of the element size");
    t.strides.push_back(a.strides(d) / a.itemsize());
  }
  return t;
}

// An output buffer: the caller's (torch callers allocate their own), or a
// new numpy array shaped like `like`.
py::object outputOr(py::object given, const py::object &like, const std::vector<int64_t> &shape = {}) {
  if (!given.is_none()) {
    // The library writes outputs through their pointer: a read-only array
    // (np.frombuffer of bytes, a broadcast view) must not be handed over.
    if (py::isinstance<py::array>(given) && !py::reinterpret_borrow<py::array>(given).writeable())
      throw py::value_error("an output array is read-only; pass a writable array");
    return given;
  }
  if (!py::isinstance<py::array>(like))
    throw py::type_error("torch tensors need their output buffers passed in (use terrazzo.ops)");
  if (!shape.empty())
    return py::array_t<float>(shape);
  auto a = py::reinterpret_borrow<py::array>(like);
  std::vector<py::ssize_t> dims(a.shape(), a.shape() + a.ndim());
  return py::array(a.dtype(), dims);
}

terrazzo::ops::FlashAttentionOptions flashOptions(bool causal, std::optional<double> scale, py::object scoreMod,
                                                  py::object maskMod, const TensorArg *seqlens) {
  terrazzo::ops::FlashAttentionOptions o;
  o.causal = causal;
  o.scale = scale;
  o.scoreMod = toHostValue(scoreMod);
  o.maskMod = toHostValue(maskMod);
  o.seqlensK = seqlens;
  return o;
}

// The tensors a score_mod reads, and the buffers their gradients go to,
// converted once; FlashAttentionOptions points into this object.
struct ScoreModArgs {
  std::vector<TensorArg> args, maskArgs;
  std::vector<std::optional<TensorArg>> grads;

  ScoreModArgs(const py::object &argsObj, const py::object &gradsObj, const py::object &maskArgsObj) {
    if (!argsObj.is_none())
      for (auto a : argsObj)
        args.push_back(tensorArg(a, "score_mod_args[" + std::to_string(args.size()) + "]"));
    if (!maskArgsObj.is_none())
      for (auto a : maskArgsObj)
        maskArgs.push_back(tensorArg(a, "mask_mod_args[" + std::to_string(maskArgs.size()) + "]"));
    if (!gradsObj.is_none())
      for (auto g : gradsObj) {
        if (g.is_none())
          grads.emplace_back();
        else
          grads.emplace_back(tensorArg(g, "score_mod_arg_grads[" + std::to_string(grads.size()) + "]"));
      }
  }
  void fill(terrazzo::ops::FlashAttentionOptions &o) const {
    for (auto &a : args)
      o.scoreModArgs.push_back(&a);
    for (auto &g : grads)
      o.scoreModArgGrads.push_back(g ? &*g : nullptr);
    for (auto &a : maskArgs)
      o.maskModArgs.push_back(&a);
  }
};

void *streamOf(const TensorArg &t) {
  return t.device == TensorArg::Device::Cuda ? currentTorchStream(t.deviceIndex) : nullptr;
}

// The optional tensors of cosine-sim attention, converted once; the options
// point into this object, so it must outlive the call.
struct CosineSimArgs {
  std::optional<TensorArg> bias, keyMask, keyLens;
  terrazzo::ops::CosineSimAttentionOptions options;

  CosineSimArgs(const TensorArg &q, bool causal, double scale, int groups, double eps, const py::object &biasObj,
                const py::object &keyMaskObj, const py::object &keyLensObj) {
    if (!biasObj.is_none())
      bias = tensorArg(biasObj, "bias");
    if (!keyMaskObj.is_none())
      keyMask = tensorArg(keyMaskObj, "key_mask");
    if (!keyLensObj.is_none())
      keyLens = tensorArg(keyLensObj, "key_lens");
    options.causal = causal;
    options.scale = scale;
    options.groups = groups;
    options.eps = eps;
    options.bias = bias ? &*bias : nullptr;
    options.keyMask = keyMask ? &*keyMask : nullptr;
    options.keyLens = keyLens ? &*keyLens : nullptr;
    options.stream = streamOf(q);
  }
  CosineSimArgs(const CosineSimArgs &) = delete;
  CosineSimArgs &operator=(const CosineSimArgs &) = delete;
};

// An optional tensor argument, converted when given.
std::optional<TensorArg> optionalTensor(const py::object &obj, const std::string &name) {
  if (obj.is_none())
    return std::nullopt;
  return tensorArg(obj, name);
}

const TensorArg *ptrOf(const std::optional<TensorArg> &t) { return t ? &*t : nullptr; }

// A new float32 numpy state (B, H, Dk, Dv) for q (B, H, N, Dk) and v (B, H, N, Dv),
// or the caller's buffer. With malformed q or v the library's checks fail first.
py::object stateOr(py::object given, const py::object &q, const TensorArg &tq, const TensorArg &tv) {
  if (!given.is_none() || tq.shape.size() != 4 || tv.shape.size() != 4)
    return given;
  return outputOr(given, q, {tq.shape[0], tq.shape[1], tq.shape[3], tv.shape[3]});
}

// Options of lightning attention; they point into this object.
struct LightningArgs {
  std::optional<TensorArg> decay;
  terrazzo::ops::LightningAttentionOptions options;

  LightningArgs(const TensorArg &q, const py::object &decayObj, std::optional<double> scale,
                const py::object &featureMap, const py::object &featureMapGrad) {
    decay = optionalTensor(decayObj, "decay");
    options.decay = ptrOf(decay);
    options.scale = scale;
    options.featureMap = toHostValue(featureMap);
    options.featureMapGrad = toHostValue(featureMapGrad);
    options.stream = streamOf(q);
  }
  LightningArgs(const LightningArgs &) = delete;
  LightningArgs &operator=(const LightningArgs &) = delete;
};

// A terrazzo.ops.BlockMask (or None) as the library's BlockMaskArg; the
// tensors stay owned by the Python object.
struct BlockMaskArgs {
  std::optional<terrazzo::ops::BlockMaskArg> mask;

  explicit BlockMaskArgs(const py::object &obj) {
    if (obj.is_none())
      return;
    for (const char *attr : {"kv_counts", "kv_indices", "q_counts", "q_indices", "q_len", "kv_len", "block_size"})
      if (!py::hasattr(obj, attr))
        throw py::type_error("argument 'block_mask': expected a BlockMask from terrazzo.ops.create_block_mask, got " +
                             py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>());
    terrazzo::ops::BlockMaskArg m;
    m.qLen = obj.attr("q_len").cast<int64_t>();
    m.kvLen = obj.attr("kv_len").cast<int64_t>();
    m.blockSize = obj.attr("block_size").cast<int64_t>();
    m.kvCounts = tensorArg(obj.attr("kv_counts"), "block_mask.kv_counts");
    m.kvIndices = tensorArg(obj.attr("kv_indices"), "block_mask.kv_indices");
    m.qCounts = tensorArg(obj.attr("q_counts"), "block_mask.q_counts");
    m.qIndices = tensorArg(obj.attr("q_indices"), "block_mask.q_indices");
    mask = m;
  }
  const terrazzo::ops::BlockMaskArg *get() const { return mask ? &*mask : nullptr; }
};

// Offsets of packed sequences; the VarlenSequences point into this object.
struct VarlenArgs {
  TensorArg cuQ, cuK;
  terrazzo::ops::VarlenSequences sequences;

  VarlenArgs(const py::object &cuSeqlensQ, const py::object &cuSeqlensK, int64_t maxSeqlenQ, int64_t maxSeqlenK)
      : cuQ(tensorArg(cuSeqlensQ, "cu_seqlens_q")), cuK(tensorArg(cuSeqlensK, "cu_seqlens_k")) {
    sequences.cuSeqlensQ = &cuQ;
    sequences.cuSeqlensK = &cuK;
    sequences.maxSeqlenQ = maxSeqlenQ;
    sequences.maxSeqlenK = maxSeqlenK;
  }
  VarlenArgs(const VarlenArgs &) = delete;
  VarlenArgs &operator=(const VarlenArgs &) = delete;
};
} // namespace

void bindOps(py::module_ &m) {
  py::module_ ops = m.def_submodule("ops", "The kernel library (C++ host wrappers)");
  ops.def(
      "library_tuning_stats",
      [] {
        terrazzo::ops::LibraryTuningStats s = terrazzo::ops::libraryTuningStats();
        py::dict d;
        d["timed"] = s.timed;
        d["loaded"] = s.loaded;
        d["choices"] = s.choices;
        d["pruned"] = s.pruned;
        return d;
      },
      "What the library's tile autotuner did in this process: keys timed, keys loaded from the disk cache, "
      "the choice per key, and per key the candidates pruned before timing with the reason.");
  ops.def(
      "compile_library_launches",
      [](const std::string &arch, std::optional<bool> tma, py::function calls, std::optional<bool> warpSpecialize) {
        std::vector<terrazzo::KernelResources> kernels = terrazzo::ops::compileLibraryLaunches(
            arch, tma ? int(*tma) : -1, [&] { calls(); }, warpSpecialize ? int(*warpSpecialize) : -1);
        py::list out;
        for (const terrazzo::KernelResources &k : kernels) {
          py::dict d;
          d["kernel_name"] = k.kernelName;
          d["compile_error"] = k.compileError;
          d["num_warps"] = k.numWarps;
          d["registers"] = k.registers;
          d["spill_store_bytes"] = k.spillStoreBytes;
          d["shared_bytes"] = k.sharedBytes;
          out.append(d);
        }
        return out;
      },
      py::arg("arch"), py::arg("tma"), py::arg("calls"), py::arg("warp_specialize") = py::none(),
      "Runs calls() (library calls on host arrays) with every kernel launch compiled for `arch` instead of run "
      "(tma, warp_specialize: the launch options); returns, per launch, the kernel's name, compile error (empty if it compiled), "
      "registers, spills and shared memory. The calls' outputs are not written.");
  ops.def(
      "flash_attention_forward",
      [](py::object q, py::object k, py::object v, bool causal, std::optional<double> scale, py::object scoreMod,
         py::object maskMod, py::object seqlensK, bool returnLse, py::object outBuf, py::object lseBuf,
         py::object blockMask, py::object scoreModArgs, py::object maskModArgs) -> py::object {
        // py::object parameters so a wrong type gets our message naming the argument.
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        std::optional<TensorArg> seqlens;
        if (!seqlensK.is_none())
          seqlens = tensorArg(seqlensK, "seqlens_k");
        py::object out = outputOr(outBuf, q);
        TensorArg tout = tensorArg(out, "out");
        py::object lse = py::none();
        std::optional<TensorArg> tlse;
        if (returnLse && tq.shape.size() == 4) {
          lse = outputOr(lseBuf, q, {tq.shape[0], tq.shape[1], tq.shape[2]});
          tlse = tensorArg(lse, "lse");
        }
        auto options = flashOptions(causal, scale, scoreMod, maskMod, seqlens ? &*seqlens : nullptr);
        options.stream = streamOf(tq);
        BlockMaskArgs mask(blockMask);
        options.blockMask = mask.get();
        ScoreModArgs captures(scoreModArgs, py::none(), maskModArgs);
        captures.fill(options);
        {
          py::gil_scoped_release release; // as for kernel launches (Module.cpp)
          terrazzo::ops::flashAttentionForward(tq, tk, tv, tout, tlse ? &*tlse : nullptr, options);
        }
        if (returnLse)
          return py::make_tuple(out, lse);
        return out;
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false, py::arg("scale") = py::none(),
      py::arg("score_mod") = py::none(), py::arg("mask_mod") = py::none(), py::arg("seqlens_k") = py::none(),
      py::arg("return_lse") = false, py::arg("out") = py::none(), py::arg("lse_out") = py::none(),
      py::arg("block_mask") = py::none(), py::arg("score_mod_args") = py::none(),
      py::arg("mask_mod_args") = py::none());
  ops.def(
      "flash_attention_backward",
      [](py::object q, py::object k, py::object v, py::object out, py::object lse, py::object dout, bool causal,
         std::optional<double> scale, py::object scoreMod, py::object maskMod, py::object seqlensK, py::object dqBuf,
         py::object dkBuf, py::object dvBuf, py::object blockMask, py::object scoreModArgs,
         py::object scoreModArgGrads, py::object maskModArgs) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tout = tensorArg(out, "out"), tlse = tensorArg(lse, "lse"), tdout = tensorArg(dout, "dout");
        std::optional<TensorArg> seqlens;
        if (!seqlensK.is_none())
          seqlens = tensorArg(seqlensK, "seqlens_k");
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        auto options = flashOptions(causal, scale, scoreMod, maskMod, seqlens ? &*seqlens : nullptr);
        options.stream = streamOf(tq);
        BlockMaskArgs mask(blockMask);
        options.blockMask = mask.get();
        ScoreModArgs captures(scoreModArgs, scoreModArgGrads, maskModArgs);
        captures.fill(options);
        TensorArg tdq = tensorArg(dq, "dq"), tdk = tensorArg(dk, "dk"), tdv = tensorArg(dv, "dv");
        {
          py::gil_scoped_release release;
          terrazzo::ops::flashAttentionBackward(tq, tk, tv, tout, tlse, tdout, tdq, tdk, tdv, options);
        }
        return py::make_tuple(dq, dk, dv);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("dout"),
      py::arg("causal") = false, py::arg("scale") = py::none(), py::arg("score_mod") = py::none(),
      py::arg("mask_mod") = py::none(), py::arg("seqlens_k") = py::none(), py::arg("dq") = py::none(),
      py::arg("dk") = py::none(), py::arg("dv") = py::none(), py::arg("block_mask") = py::none(),
      py::arg("score_mod_args") = py::none(), py::arg("score_mod_arg_grads") = py::none(),
      py::arg("mask_mod_args") = py::none());
  ops.def(
      "flash_attention_varlen_forward",
      [](py::object q, py::object k, py::object v, py::object cuSeqlensQ, py::object cuSeqlensK, int64_t maxSeqlenQ,
         int64_t maxSeqlenK, bool causal, std::optional<double> scale, py::object scoreMod, py::object maskMod,
         bool returnLse, py::object outBuf, py::object lseBuf, py::object scoreModArgs,
         py::object maskModArgs) -> py::object {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        VarlenArgs packed(cuSeqlensQ, cuSeqlensK, maxSeqlenQ, maxSeqlenK);
        py::object out = outputOr(outBuf, q);
        TensorArg tout = tensorArg(out, "out");
        py::object lse = lseBuf;
        std::optional<TensorArg> tlse;
        if (returnLse && lse.is_none() && tq.shape.size() == 3)
          lse = outputOr(py::none(), q, {tq.shape[1], tq.shape[0]});
        if (!lse.is_none())
          tlse = tensorArg(lse, "lse");
        auto options = flashOptions(causal, scale, scoreMod, maskMod, nullptr);
        options.stream = streamOf(tq);
        ScoreModArgs captures(scoreModArgs, py::none(), maskModArgs);
        captures.fill(options);
        {
          py::gil_scoped_release release;
          terrazzo::ops::flashAttentionVarlenForward(tq, tk, tv, packed.sequences, tout, tlse ? &*tlse : nullptr,
                                                     options);
        }
        if (returnLse)
          return py::make_tuple(out, lse);
        return out;
      },
      "Flash attention over packed sequences: out (total_q, H, D), and with return_lse the float32 (H, total_q) "
      "log-sum-exp.",
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("cu_seqlens_q"), py::arg("cu_seqlens_k"),
      py::arg("max_seqlen_q"), py::arg("max_seqlen_k"), py::arg("causal") = false, py::arg("scale") = py::none(),
      py::arg("score_mod") = py::none(), py::arg("mask_mod") = py::none(), py::arg("return_lse") = false,
      py::arg("out") = py::none(), py::arg("lse_out") = py::none(), py::arg("score_mod_args") = py::none(),
      py::arg("mask_mod_args") = py::none());
  ops.def(
      "flash_attention_varlen_backward",
      [](py::object q, py::object k, py::object v, py::object out, py::object lse, py::object dout,
         py::object cuSeqlensQ, py::object cuSeqlensK, int64_t maxSeqlenQ, int64_t maxSeqlenK, bool causal,
         std::optional<double> scale, py::object scoreMod, py::object maskMod, py::object dqBuf, py::object dkBuf,
         py::object dvBuf, py::object scoreModArgs, py::object scoreModArgGrads, py::object maskModArgs) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tout = tensorArg(out, "out"), tlse = tensorArg(lse, "lse"), tdout = tensorArg(dout, "dout");
        VarlenArgs packed(cuSeqlensQ, cuSeqlensK, maxSeqlenQ, maxSeqlenK);
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        auto options = flashOptions(causal, scale, scoreMod, maskMod, nullptr);
        options.stream = streamOf(tq);
        ScoreModArgs captures(scoreModArgs, scoreModArgGrads, maskModArgs);
        captures.fill(options);
        TensorArg tdq = tensorArg(dq, "dq"), tdk = tensorArg(dk, "dk"), tdv = tensorArg(dv, "dv");
        {
          py::gil_scoped_release release;
          terrazzo::ops::flashAttentionVarlenBackward(tq, tk, tv, packed.sequences, tout, tlse, tdout, tdq, tdk, tdv,
                                                      options);
        }
        return py::make_tuple(dq, dk, dv);
      },
      "Gradients (dq, dk, dv) of flash_attention_varlen_forward.", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("out"), py::arg("lse"), py::arg("dout"), py::arg("cu_seqlens_q"), py::arg("cu_seqlens_k"),
      py::arg("max_seqlen_q"), py::arg("max_seqlen_k"), py::arg("causal") = false, py::arg("scale") = py::none(),
      py::arg("score_mod") = py::none(), py::arg("mask_mod") = py::none(), py::arg("dq") = py::none(),
      py::arg("dk") = py::none(), py::arg("dv") = py::none(), py::arg("score_mod_args") = py::none(),
      py::arg("score_mod_arg_grads") = py::none(), py::arg("mask_mod_args") = py::none());
  ops.def(
      "create_block_mask",
      [](py::object maskMod, py::object classes, py::object blockMask, py::object maskModArgs) {
        // blockMask: the terrazzo.ops.BlockMask being built, its tensors allocated.
        BlockMaskArgs mask(blockMask);
        if (!mask.get())
          throw py::type_error("argument 'block_mask': expected a BlockMask, got None");
        TensorArg tclasses = tensorArg(classes, "classes");
        HostValue mod = toHostValue(maskMod);
        ScoreModArgs captures(py::none(), py::none(), maskModArgs);
        std::vector<const TensorArg *> maskArgs;
        for (auto &a : captures.maskArgs)
          maskArgs.push_back(&a);
        void *stream = streamOf(tclasses);
        py::gil_scoped_release release;
        terrazzo::ops::createBlockMask(mod, tclasses, *mask.get(), stream, maskArgs);
      },
      "Fills a BlockMask's lists (and the per-tile classes) from mask_mod (reading mask_mod_args).",
      py::arg("mask_mod"), py::arg("classes"), py::arg("block_mask"), py::arg("mask_mod_args") = py::none());

  ops.def(
      "cosine_sim_attention_forward",
      [](py::object q, py::object k, py::object v, bool causal, double scale, int groups, double eps, py::object bias,
         py::object keyMask, py::object keyLens, py::object outBuf, py::object lseBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        CosineSimArgs a(tq, causal, scale, groups, eps, bias, keyMask, keyLens);
        py::object out = outputOr(outBuf, q);
        TensorArg tout = tensorArg(out, "out");
        // lse (B, H, N_Q); with a q of the wrong rank the library's check of q fails first.
        py::object lse = lseBuf;
        if (lse.is_none() && tq.shape.size() == 4)
          lse = outputOr(lseBuf, q, {tq.shape[0], tq.shape[1], tq.shape[2]});
        TensorArg tlse = lse.is_none() ? TensorArg{} : tensorArg(lse, "lse");
        {
          py::gil_scoped_release release;
          terrazzo::ops::cosineSimAttentionForward(tq, tk, tv, tout, tlse, a.options);
        }
        return py::make_tuple(out, lse);
      },
      "Cosine-similarity attention forward: returns (out, lse).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("causal") = false, py::arg("scale") = 10.0, py::arg("groups") = 1, py::arg("eps") = 1e-6,
      py::arg("bias") = py::none(), py::arg("key_mask") = py::none(), py::arg("key_lens") = py::none(),
      py::arg("out") = py::none(), py::arg("lse_out") = py::none());
  ops.def(
      "cosine_sim_attention_backward",
      [](py::object q, py::object k, py::object v, py::object out, py::object lse, py::object dout, bool causal,
         double scale, int groups, double eps, py::object bias, py::object keyMask, py::object keyLens,
         bool needDbias, py::object dqBuf, py::object dkBuf, py::object dvBuf, py::object dbiasBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tout = tensorArg(out, "out"), tlse = tensorArg(lse, "lse"), tdout = tensorArg(dout, "dout");
        CosineSimArgs a(tq, causal, scale, groups, eps, bias, keyMask, keyLens);
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        py::object dbias = dbiasBuf;
        if (dbias.is_none() && needDbias && a.bias)
          dbias = outputOr(py::none(), q, a.bias->shape.empty() ? std::vector<int64_t>{1} : a.bias->shape);
        std::optional<TensorArg> tdbias;
        if (!dbias.is_none())
          tdbias = tensorArg(dbias, "dbias");
        TensorArg tdq = tensorArg(dq, "dq"), tdk = tensorArg(dk, "dk"), tdv = tensorArg(dv, "dv");
        {
          py::gil_scoped_release release;
          terrazzo::ops::cosineSimAttentionBackward(tq, tk, tv, tout, tlse, tdout, tdq, tdk, tdv,
                                                    tdbias ? &*tdbias : nullptr, a.options);
        }
        return py::make_tuple(dq, dk, dv, dbias);
      },
      "Cosine-similarity attention backward: returns (dq, dk, dv, dbias or None).", py::arg("q"), py::arg("k"),
      py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("dout"), py::arg("causal") = false,
      py::arg("scale") = 10.0, py::arg("groups") = 1, py::arg("eps") = 1e-6, py::arg("bias") = py::none(),
      py::arg("key_mask") = py::none(), py::arg("key_lens") = py::none(), py::arg("need_dbias") = true,
      py::arg("dq") = py::none(), py::arg("dk") = py::none(), py::arg("dv") = py::none(),
      py::arg("dbias") = py::none());

  ops.def(
      "lightning_attention_forward",
      [](py::object q, py::object k, py::object v, py::object decay, std::optional<double> scale,
         py::object initialState, bool returnFinalState, py::object featureMap, py::object outBuf,
         py::object finalBuf) -> py::object {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        LightningArgs a(tq, decay, scale, featureMap, py::none());
        auto init = optionalTensor(initialState, "initial_state");
        py::object out = outputOr(outBuf, v);
        TensorArg tout = tensorArg(out, "out");
        py::object fin = returnFinalState ? stateOr(finalBuf, q, tq, tv) : py::object(py::none());
        auto tfin = optionalTensor(fin, "final_state");
        terrazzo::ops::lightningAttentionForward(tq, tk, tv, tout, ptrOf(init), ptrOf(tfin), a.options);
        if (returnFinalState)
          return py::make_tuple(out, fin);
        return out;
      },
      "Lightning attention forward: out, or (out, final_state).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("decay") = py::none(), py::arg("scale") = py::none(), py::arg("initial_state") = py::none(),
      py::arg("return_final_state") = false, py::arg("feature_map") = py::none(), py::arg("out") = py::none(),
      py::arg("final_state_out") = py::none());
  ops.def(
      "lightning_attention_backward",
      [](py::object q, py::object k, py::object v, py::object dout, py::object decay, std::optional<double> scale,
         py::object initialState, py::object dFinalState, bool needDInitial, py::object featureMap,
         py::object featureMapGrad, py::object dqBuf, py::object dkBuf, py::object dvBuf, py::object dInitBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tdout = tensorArg(dout, "dout");
        LightningArgs a(tq, decay, scale, featureMap, featureMapGrad);
        auto init = optionalTensor(initialState, "initial_state");
        auto dfin = optionalTensor(dFinalState, "dfinal_state");
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        py::object dinit = needDInitial ? stateOr(dInitBuf, q, tq, tv) : py::object(py::none());
        auto tdinit = optionalTensor(dinit, "dinitial_state");
        terrazzo::ops::lightningAttentionBackward(tq, tk, tv, tdout, ptrOf(init), ptrOf(dfin), tensorArg(dq, "dq"),
                                                  tensorArg(dk, "dk"), tensorArg(dv, "dv"), ptrOf(tdinit),
                                                  a.options);
        return py::make_tuple(dq, dk, dv, dinit);
      },
      "Lightning attention backward: (dq, dk, dv, dinitial_state or None).", py::arg("q"), py::arg("k"),
      py::arg("v"), py::arg("dout"), py::arg("decay") = py::none(), py::arg("scale") = py::none(),
      py::arg("initial_state") = py::none(), py::arg("dfinal_state") = py::none(),
      py::arg("need_dinitial_state") = true, py::arg("feature_map") = py::none(),
      py::arg("feature_map_grad") = py::none(), py::arg("dq") = py::none(), py::arg("dk") = py::none(),
      py::arg("dv") = py::none(), py::arg("dinitial_state") = py::none());
  ops.def(
      "lightning_attention_decode",
      [](py::object q, py::object k, py::object v, py::object state, py::object decay, std::optional<double> scale,
         bool inplace, py::object featureMap, py::object outBuf, py::object newStateBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tstate = tensorArg(state, "state");
        LightningArgs a(tq, decay, scale, featureMap, py::none());
        py::object out = outputOr(outBuf, v);
        py::object newState = inplace ? state : stateOr(newStateBuf, q, tq, tv);
        // Without a new state (q or v malformed) the library's checks of q and v fail first.
        TensorArg tnew = newState.is_none() ? TensorArg{} : tensorArg(newState, "new_state");
        terrazzo::ops::lightningAttentionDecode(tq, tk, tv, tstate, tensorArg(out, "out"), tnew, a.options);
        return py::make_tuple(out, newState);
      },
      "One lightning-attention decoding step: (out, new_state).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("state"), py::arg("decay") = py::none(), py::arg("scale") = py::none(), py::arg("inplace") = false,
      py::arg("feature_map") = py::none(), py::arg("out") = py::none(), py::arg("new_state_out") = py::none());

  ops.def(
      "focused_linear_attention_forward",
      [](py::object q, py::object k, py::object v, double power, double eps, bool causal, py::object outBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        terrazzo::ops::FocusedLinearAttentionOptions o{power, eps, causal, streamOf(tq)};
        py::object out = outputOr(outBuf, v);
        terrazzo::ops::focusedLinearAttentionForward(tq, tk, tv, tensorArg(out, "out"), o);
        return out;
      },
      "Focused linear attention forward.", py::arg("q"), py::arg("k"), py::arg("v"), py::arg("power") = 3.0,
      py::arg("eps") = 1e-6, py::arg("causal") = false, py::arg("out") = py::none());
  ops.def(
      "focused_linear_attention_backward",
      [](py::object q, py::object k, py::object v, py::object dout, double power, double eps, bool causal,
         py::object dqBuf, py::object dkBuf, py::object dvBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        terrazzo::ops::FocusedLinearAttentionOptions o{power, eps, causal, streamOf(tq)};
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        terrazzo::ops::focusedLinearAttentionBackward(tq, tk, tv, tensorArg(dout, "dout"), tensorArg(dq, "dq"),
                                                      tensorArg(dk, "dk"), tensorArg(dv, "dv"), o);
        return py::make_tuple(dq, dk, dv);
      },
      "Focused linear attention backward: (dq, dk, dv).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("dout"), py::arg("power") = 3.0, py::arg("eps") = 1e-6, py::arg("causal") = false,
      py::arg("dq") = py::none(), py::arg("dk") = py::none(), py::arg("dv") = py::none());

  ops.def(
      "agent_attention_forward",
      [](py::object q, py::object k, py::object v, py::object agents, std::optional<double> scale, py::object outBuf,
         py::object agentValuesBuf, py::object agentLseBuf, py::object lseBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg ta = tensorArg(agents, "agents");
        py::object out = outputOr(outBuf, q), agentValues = outputOr(agentValuesBuf, agents);
        // Row statistics; with a malformed q or agents the library's checks fail first.
        py::object agentLse = agentLseBuf, lse = lseBuf;
        if (agentLse.is_none() && ta.shape.size() == 4)
          agentLse = outputOr(py::none(), agents, {ta.shape[0], ta.shape[1], ta.shape[2]});
        if (lse.is_none() && tq.shape.size() == 4)
          lse = outputOr(py::none(), q, {tq.shape[0], tq.shape[1], tq.shape[2]});
        TensorArg tAgentLse = agentLse.is_none() ? TensorArg{} : tensorArg(agentLse, "agent_lse");
        TensorArg tlse = lse.is_none() ? TensorArg{} : tensorArg(lse, "lse");
        terrazzo::ops::AgentAttentionOptions o{scale, streamOf(tq)};
        terrazzo::ops::agentAttentionForward(tq, tk, tv, ta, tensorArg(out, "out"), tensorArg(agentValues, "agent_values"),
                                             tAgentLse, tlse, o);
        return py::make_tuple(out, agentValues, agentLse, lse);
      },
      "Agent attention forward: (out, agent_values, agent_lse, lse).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("agents"), py::arg("scale") = py::none(), py::arg("out") = py::none(),
      py::arg("agent_values") = py::none(), py::arg("agent_lse") = py::none(), py::arg("lse") = py::none());
  ops.def(
      "agent_attention_backward",
      [](py::object q, py::object k, py::object v, py::object agents, py::object out, py::object agentValues,
         py::object agentLse, py::object lse, py::object dout, std::optional<double> scale, py::object dqBuf,
         py::object dkBuf, py::object dvBuf, py::object dagentsBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg ta = tensorArg(agents, "agents");
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        py::object dagents = outputOr(dagentsBuf, agents);
        terrazzo::ops::AgentAttentionOptions o{scale, streamOf(tq)};
        terrazzo::ops::agentAttentionBackward(
            tq, tk, tv, ta, tensorArg(out, "out"), tensorArg(agentValues, "agent_values"),
            tensorArg(agentLse, "agent_lse"), tensorArg(lse, "lse"), tensorArg(dout, "dout"), tensorArg(dq, "dq"),
            tensorArg(dk, "dk"), tensorArg(dv, "dv"), tensorArg(dagents, "dagents"), o);
        return py::make_tuple(dq, dk, dv, dagents);
      },
      "Agent attention backward: (dq, dk, dv, dagents).", py::arg("q"), py::arg("k"), py::arg("v"),
      py::arg("agents"), py::arg("out"), py::arg("agent_values"), py::arg("agent_lse"), py::arg("lse"),
      py::arg("dout"), py::arg("scale") = py::none(), py::arg("dq") = py::none(), py::arg("dk") = py::none(),
      py::arg("dv") = py::none(), py::arg("dagents") = py::none());
  ops.def(
      "attention_merge",
      [](py::object out, py::object lse, py::object partOut, py::object partLse) {
        // Updated in place: outputOr refuses read-only numpy arrays.
        TensorArg to = tensorArg(outputOr(out, out), "out");
        outputOr(lse, lse);
        terrazzo::ops::AttentionMergeOptions o{streamOf(to)};
        terrazzo::ops::attentionMergeInto(to, tensorArg(lse, "lse"), tensorArg(partOut, "part_out"),
                                          tensorArg(partLse, "part_lse"), o);
      },
      "Merges the attention result (part_out, part_lse) over other keys into (out, lse), in place "
      "(kernels/attention_merge.py).",
      py::arg("out"), py::arg("lse"), py::arg("part_out"), py::arg("part_lse"));
}

} // namespace terrazzo::python
