# Warnings are on for every target of the project; third-party headers are system headers.
add_compile_options(-Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
