# Find LLVM/MLIR 22 from Debian and make every MLIR target link LLVM statically.
#
# Debian builds LLVM with LLVM_LINK_LLVM_DYLIB=ON, so each exported MLIR target
# names `LLVM` (libLLVM.so) in its interface link libraries. libterrazzo.so must
# run on machines without LLVM (the GPU machine has none), so we swap that entry
# for the static component archives before anything links.
find_package(MLIR REQUIRED CONFIG PATHS /usr/lib/llvm-22/lib/cmake/mlir NO_DEFAULT_PATH)
list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)

llvm_map_components_to_libnames(TERRAZZO_LLVM_STATIC_LIBS
  core support irreader bitreader bitwriter linker passes ipo analysis transformutils
  target mc codegen nvptxcodegen nvptxdesc nvptxinfo)

foreach(t IN LISTS MLIR_EXPORTED_TARGETS)
  if(TARGET ${t})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(deps ${t} INTERFACE_LINK_LIBRARIES)
      if(deps AND "LLVM" IN_LIST deps)
        list(REMOVE_ITEM deps LLVM)
        list(APPEND deps ${TERRAZZO_LLVM_STATIC_LIBS})
        set_target_properties(${t} PROPERTIES INTERFACE_LINK_LIBRARIES "${deps}")
      endif()
    endif()
  endif()
endforeach()

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
add_definitions(${LLVM_DEFINITIONS})
