// terrazzo._terrazzo.ops: numpy arrays in, numpy arrays out; the checks,
// tile sizes and launches are the C++ library's (kernels/lib).
#include "Ops.h"
#include "HostValues.h"

#include "terrazzo/ops/Attention.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

namespace py = pybind11;
using terrazzo::ops::TensorArg;

namespace terrazzo::python {

namespace {
TensorArg tensorArg(const py::handle &obj, const std::string &name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error("argument '" + name + "': expected a numpy array, got " +
                         py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>());
  auto a = py::reinterpret_borrow<py::array>(obj);
  TensorArg t;
  t.data = const_cast<void *>(a.data());
  t.dtype = py::str(a.dtype()).cast<std::string>();
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    t.shape.push_back(a.shape(d));
    if (a.strides(d) % a.itemsize() != 0)
      throw py::value_error("argument '" + name + "': strides must be multiples of the element size");
    t.strides.push_back(a.strides(d) / a.itemsize());
  }
  return t;
}

py::array emptyLike(const py::array &like) {
  std::vector<py::ssize_t> shape(like.shape(), like.shape() + like.ndim());
  return py::array(like.dtype(), shape);
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
} // namespace

void bindOps(py::module_ &m) {
  py::module_ ops = m.def_submodule("ops", "The kernel library (C++ host wrappers)");
  ops.def(
      "flash_attention_forward",
      [](py::object q, py::object k, py::object v, bool causal, std::optional<double> scale, py::object scoreMod,
         py::object maskMod, py::object seqlensK, bool returnLse) -> py::object {
        // py::object parameters so a wrong type gets our message naming the argument.
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        std::optional<TensorArg> seqlens;
        if (!seqlensK.is_none())
          seqlens = tensorArg(seqlensK, "seqlens_k");
        py::array out = emptyLike(py::reinterpret_borrow<py::array>(q));
        TensorArg tout = tensorArg(out, "out");
        py::array lse;
        std::optional<TensorArg> tlse;
        if (returnLse && tq.shape.size() == 4) {
          lse = py::array_t<float>({tq.shape[0], tq.shape[1], tq.shape[2]});
          tlse = tensorArg(lse, "lse");
        }
        auto options = flashOptions(causal, scale, scoreMod, maskMod, seqlens ? &*seqlens : nullptr);
        terrazzo::ops::flashAttentionForward(tq, tk, tv, tout, tlse ? &*tlse : nullptr, options);
        if (returnLse)
          return py::make_tuple(out, lse);
        return out;
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("causal") = false, py::arg("scale") = py::none(),
      py::arg("score_mod") = py::none(), py::arg("mask_mod") = py::none(), py::arg("seqlens_k") = py::none(),
      py::arg("return_lse") = false);
  ops.def(
      "flash_attention_backward",
      [](py::object q, py::object k, py::object v, py::object out, py::object lse, py::object dout, bool causal,
         std::optional<double> scale, py::object scoreMod, py::object maskMod, py::object seqlensK) {
        TensorArg tq = tensorArg(q, "q"), tk = tensorArg(k, "k"), tv = tensorArg(v, "v");
        TensorArg tout = tensorArg(out, "out"), tlse = tensorArg(lse, "lse"), tdout = tensorArg(dout, "dout");
        std::optional<TensorArg> seqlens;
        if (!seqlensK.is_none())
          seqlens = tensorArg(seqlensK, "seqlens_k");
        py::array dq = emptyLike(py::reinterpret_borrow<py::array>(q));
        py::array dk = emptyLike(py::reinterpret_borrow<py::array>(k));
        py::array dv = emptyLike(py::reinterpret_borrow<py::array>(v));
        auto options = flashOptions(causal, scale, scoreMod, maskMod, seqlens ? &*seqlens : nullptr);
        terrazzo::ops::flashAttentionBackward(tq, tk, tv, tout, tlse, tdout, tensorArg(dq, "dq"), tensorArg(dk, "dk"),
                                              tensorArg(dv, "dv"), options);
        return py::make_tuple(dq, dk, dv);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("dout"),
      py::arg("causal") = false, py::arg("scale") = py::none(), py::arg("score_mod") = py::none(),
      py::arg("mask_mod") = py::none(), py::arg("seqlens_k") = py::none());
}

} // namespace terrazzo::python
