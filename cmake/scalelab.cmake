# scalelab_add_library(NAME SOURCES ... [DEPS ...]): a library per capability folder, public headers in src/.
function(scalelab_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
endfunction()

# scalelab_add_test(NAME SOURCES ... [DEPS ...] [LABELS ...]): a GoogleTest binary, one CTest entry per test.
# Tests run from the source tree's root so they can find ../shared/data.
function(scalelab_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})  # testing/ (test doubles)
  target_compile_definitions(${name} PRIVATE
    SCALELAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SCALELAB_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  set(labels ${ARG_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    DISCOVERY_MODE PRE_TEST
    # Listing a libtorch test binary's tests loads libtorch: over the 5 s default on a loaded machine.
    DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS "${labels}")
endfunction()
