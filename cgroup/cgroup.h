/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/: who dirtied a page.
 *
 * Every dirty page carries the id of the cgroup it is charged to, and every
 * mapping its owner cgroup (memcg.h); ids index the tracked cgroups.
 */
#ifndef DIRTYFS_CGROUP_H
#define DIRTYFS_CGROUP_H

#include <stdint.h>

/* A small integer naming a tracked cgroup; 0 is the root cgroup "/". */
typedef uint32_t cgroup_id_t;

#define CGROUP_ROOT ((cgroup_id_t)0)
/* Owner slot of a mapping dirtied by more than one cgroup. */
#define CGROUP_SHARED ((cgroup_id_t)UINT32_MAX)
/* Owner slot of a clean mapping. */
#define CGROUP_NONE ((cgroup_id_t)(UINT32_MAX - 1))

#endif
