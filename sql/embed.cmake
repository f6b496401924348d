# Writes a C++ source that holds each SQL file as a string constant.
# Inputs: OUT (the .cc to write), FILES (SQL files joined with "|"), ROOT (sql folder).
string(REPLACE "|" ";" FILES "${FILES}")
set(content "// Generated from sql/*.sql at build time. Do not edit.\n#include \"sql/embedded_sql.h\"\n\nnamespace gridsearch {\nnamespace sql {\n\nconst std::vector<EmbeddedFile>& Files() {\n  static const std::vector<EmbeddedFile> kFiles = {\n")
foreach(f ${FILES})
  file(READ ${f} text)
  file(RELATIVE_PATH rel ${ROOT} ${f})
  string(APPEND content "    {\"${rel}\", R\"gs_sql(${text})gs_sql\"},\n")
endforeach()
string(APPEND content "  };\n  return kFiles;\n}\n\n}  // namespace sql\n}  // namespace gridsearch\n")
file(WRITE ${OUT}.tmp "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
