# Writes INPUT as a C++ string constant gw::config::kDefaultConfigYaml into OUTPUT.
file(READ ${INPUT} content)
set(delim "GWCFG")
file(WRITE ${OUTPUT}
  "// Generated from config/gateway.yaml; do not edit.\n"
  "#include <string_view>\n"
  "namespace gw::config {\n"
  "extern const std::string_view kDefaultConfigYaml;\n"
  "const std::string_view kDefaultConfigYaml = R\"${delim}(${content})${delim}\";\n"
  "}  // namespace gw::config\n")
