# sb_module(NAME SOURCES ... DEPS ...): one static library per folder under src/, namespace switchboard::NAME.
function(sb_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sb_${name} STATIC ${M_SOURCES})
  target_include_directories(sb_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sb_${name} PUBLIC ${M_DEPS} PRIVATE sb_warnings)
  target_compile_definitions(sb_${name} PUBLIC BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW
                                                SPDLOG_FMT_EXTERNAL)
endfunction()

# sb_test(NAME SOURCES ... DEPS ...): one gtest binary registered with CTest.
function(sb_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main sb_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
