# `cmake --install build --prefix P` lays out the C++ package:
#   P/lib/libterrazzo.so                      frontend, compiler, runtime, kernel library
#   P/include/terrazzo/{Terrazzo.h,KernelLibrary.h,dsl/*.h,ops/*.h}   the public API
#   P/share/terrazzo/kernels/*.py             the kernel library's DSL sources (for reading;
#                                             libterrazzo.so carries them embedded)
#   P/lib/cmake/Terrazzo/                     TerrazzoConfig.cmake, version file, targets
# so that a project can find_package(Terrazzo) and link Terrazzo::terrazzo.
# Only headers without LLVM/MLIR types are installed: the rest stay private.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TERRAZZO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Terrazzo)

target_include_directories(terrazzo INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
install(TARGETS terrazzo EXPORT TerrazzoTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${TERRAZZO_SOURCE_DIR}/runtime/include/terrazzo/Terrazzo.h
              ${TERRAZZO_SOURCE_DIR}/runtime/include/terrazzo/KernelLibrary.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/terrazzo)
install(FILES ${TERRAZZO_SOURCE_DIR}/dsl/include/terrazzo/dsl/HostValue.h
              ${TERRAZZO_SOURCE_DIR}/dsl/include/terrazzo/dsl/Source.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/terrazzo/dsl)
file(GLOB TERRAZZO_OPS_HEADERS CONFIGURE_DEPENDS ${TERRAZZO_SOURCE_DIR}/kernels/include/terrazzo/ops/*.h)
install(FILES ${TERRAZZO_OPS_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/terrazzo/ops)
file(GLOB TERRAZZO_LIBRARY_KERNELS CONFIGURE_DEPENDS ${TERRAZZO_SOURCE_DIR}/kernels/*.py)
install(FILES ${TERRAZZO_LIBRARY_KERNELS} DESTINATION ${CMAKE_INSTALL_DATADIR}/terrazzo/kernels)

install(EXPORT TerrazzoTargets NAMESPACE Terrazzo:: DESTINATION ${TERRAZZO_CMAKE_DIR})
configure_package_config_file(${TERRAZZO_SOURCE_DIR}/cmake/TerrazzoConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/TerrazzoConfig.cmake INSTALL_DESTINATION ${TERRAZZO_CMAKE_DIR})
# 0.x releases promise nothing across minor versions.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/TerrazzoConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/TerrazzoConfig.cmake ${CMAKE_BINARY_DIR}/TerrazzoConfigVersion.cmake
        DESTINATION ${TERRAZZO_CMAKE_DIR})
