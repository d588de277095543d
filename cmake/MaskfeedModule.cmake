# maskfeed_module_headers(<target> [FOLDER <dir>]): makes the headers of <dir> (default: the
# folder of the calling CMakeLists.txt) includable as "<dir relative to the source root>/x.h"
# by <target> and by whatever links it — and by nothing else. Each module's headers sit under
# an include root of their own (a link in the build tree), so a target that includes a
# module's header without stating its dependency on that module does not compile: the link
# graph is the include graph.
function(maskfeed_module_headers target)
  cmake_parse_arguments(ARG "" "FOLDER" "" ${ARGN})
  if(NOT ARG_FOLDER)
    set(ARG_FOLDER ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${ARG_FOLDER})
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  get_filename_component(parent ${root}/${folder} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(NOT EXISTS ${root}/${folder})
    file(CREATE_LINK ${ARG_FOLDER} ${root}/${folder} SYMBOLIC)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()

# maskfeed_library(<name> SOURCES... [PUBLIC deps...] [PRIVATE deps...]): a static library of
# the calling folder, its headers exposed by maskfeed_module_headers, built with the project's
# flags, position-independent (the Python client's shared library links some of them).
function(maskfeed_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  maskfeed_module_headers(${name})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE} maskfeed_build_flags)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
