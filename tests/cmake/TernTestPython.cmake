# tern_python_with(OUT CACHE_VAR MODULES): the Python 3 interpreter for the tests that need the
# given modules ("numpy", "torch, numpy", ...). ${CACHE_VAR} if the user set it (pass "" for none),
# else the first of find_package(Python3) and /usr/bin/python3 that can import MODULES (Debian's
# python3-* packages live in /usr/bin/python3, which a pyenv or venv python3 earlier on PATH may not
# see), else any Python 3 found (its tests then exit 77 and ctest reports them skipped). OUT is
# empty when there is no Python 3 at all.
function(tern_python_with out cache_var modules)
    if(cache_var)
        if(${cache_var})
            set(${out} "${${cache_var}}" PARENT_SCOPE)
            return()
        endif()
    endif()
    find_package(Python3 COMPONENTS Interpreter)
    set(candidates)
    if(Python3_Interpreter_FOUND)
        list(APPEND candidates "${Python3_EXECUTABLE}")
    endif()
    list(APPEND candidates /usr/bin/python3)
    foreach(candidate IN LISTS candidates)
        if(EXISTS "${candidate}")
            execute_process(COMMAND "${candidate}" -c "import ${modules}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
            if(rc EQUAL 0)
                set(${out} "${candidate}" PARENT_SCOPE)
                return()
            endif()
        endif()
    endforeach()
    if(Python3_Interpreter_FOUND)
        set(${out} "${Python3_EXECUTABLE}" PARENT_SCOPE)
    else()
        set(${out} "" PARENT_SCOPE)
    endif()
endfunction()
