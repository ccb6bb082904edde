# SPDX-License-Identifier: GPL-2.0-or-later
# Run by cpack once the files are staged: every regular file under etc/ is a
# conffile (dpkg keeps the administrator's edits across upgrades).
file(GLOB_RECURSE etc_files LIST_DIRECTORIES false RELATIVE ${CPACK_TEMPORARY_DIRECTORY}
     ${CPACK_TEMPORARY_DIRECTORY}/etc/*)
list(SORT etc_files)
set(out "")
foreach(f IN LISTS etc_files)
  string(APPEND out "/${f}\n")
endforeach()
file(WRITE ${CPACK_CKPT_CONFFILES} "${out}")
