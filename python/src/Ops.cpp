// terrazzo._terrazzo.ops: numpy arrays in, numpy arrays out; the checks,
// tile sizes and launches are the C++ library's (kernels/lib).
#include "Ops.h"
#include "DeviceTensors.h"
#include "HostValues.h"

#include "terrazzo/ops/Attention.h"
#include "terrazzo/ops/CosineSimAttention.h"
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
        return d;
      },
      "What the library's tile autotuner did in this process: keys timed, keys loaded from the disk cache, "
      "and the choice per key.");
  ops.def(
      "flash_attention_forward",
      [](py::object q, py::object k, py::object v, bool causal, std::optional<double> scale, py::object scoreMod,
         py::object maskMod, py::object seqlensK, bool returnLse, py::object outBuf, py::object lseBuf) -> py::object {
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
      py::arg("return_lse") = false, py::arg("out") = py::none(), py::arg("lse_out") = py::none());
  ops.def(
      "flash_attention_backward",
      [](py::object q, py::object k, py::object v, py::object out, py::object lse, py::object dout, bool causal,
         std::optional<double> scale, py::object scoreMod, py::object maskMod, py::object seqlensK, py::object dqBuf,
         py::object dkBuf, py::object dvBuf) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tout = tensorArg(out, "out"), tlse = tensorArg(lse, "lse"), tdout = tensorArg(dout, "dout");
        std::optional<TensorArg> seqlens;
        if (!seqlensK.is_none())
          seqlens = tensorArg(seqlensK, "seqlens_k");
        py::object dq = outputOr(dqBuf, q), dk = outputOr(dkBuf, k), dv = outputOr(dvBuf, v);
        auto options = flashOptions(causal, scale, scoreMod, maskMod, seqlens ? &*seqlens : nullptr);
        options.stream = streamOf(tq);
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
      py::arg("dk") = py::none(), py::arg("dv") = py::none());

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
}

} // namespace terrazzo::python
