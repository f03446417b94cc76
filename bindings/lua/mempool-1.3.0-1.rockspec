-- The Lua 5.4 module of mempool, built against an installed mempool
-- (cmake --install) with LuaRocks' builtin backend:
--   cd bindings/lua
--   luarocks --lua-version 5.4 make --tree ROCKS mempool-1.3.0-1.rockspec MEMPOOL_DIR=PREFIX
-- MEMPOOL_DIR is the install prefix (MEMPOOL_INCDIR and MEMPOOL_LIBDIR
-- set the two directories one by one). The module is linked with an rpath to
-- MEMPOOL_LIBDIR, so it finds libmempool.so.1 without LD_LIBRARY_PATH.
-- The version follows include/mempool/mempool.h (ctest lua_rock checks it).
rockspec_format = "3.0"
package = "mempool"
version = "1.3.0-1"
source = {
   -- luarocks make builds the sources beside this file and fetches nothing.
   url = "file://.",
}
description = {
   summary = "Memory pools (CPU and GPU) with Lua policies, over mempool's C ABI",
   detailed = [[
require "mempool" gives CPU and GPU pools, blocks with <close>, a size
router and allocation policies (grow, on_oom, trim) written in Lua, over the
mempool C library (libmempool.so.1), which must be installed first.
]],
   license = "MIT",
   labels = { "memory", "allocator", "ffi" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
external_dependencies = {
   MEMPOOL = {
      header = "mempool/mempool.h",
      library = "mempool",
   },
}
build = {
   type = "builtin",
   modules = {
      mempool = {
         sources = { "lmempool.c", "lpool.c", "lrouter.c", "lpolicy.c", "lstats.c" },
         incdirs = { "$(MEMPOOL_INCDIR)" },
         libdirs = { "$(MEMPOOL_LIBDIR)" },
         libraries = { "mempool" },
      },
   },
}
