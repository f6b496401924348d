# Writes a C++ source holding text files as string constants, returned by
# `const std::vector<std::pair<std::string, std::string>>& FUNCTION()` in
# namespace gridsearch (name relative to ROOT, contents).
# Inputs: OUT (the .cc to write), FILES (joined with "|"), ROOT, FUNCTION.
string(REPLACE "|" ";" FILES "${FILES}")
set(content "// Generated at build time from the files it holds. Do not edit.\n#include <string>\n#include <utility>\n#include <vector>\n\nnamespace gridsearch {\n\nconst std::vector<std::pair<std::string, std::string>>& ${FUNCTION}() {\n  static const std::vector<std::pair<std::string, std::string>> kFiles = {\n")
foreach(f ${FILES})
  file(READ ${f} text)
  file(RELATIVE_PATH rel ${ROOT} ${f})
  string(APPEND content "    {\"${rel}\", R\"gs_text(${text})gs_text\"},\n")
endforeach()
string(APPEND content "  };\n  return kFiles;\n}\n\n}  // namespace gridsearch\n")
file(WRITE ${OUT}.tmp "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
