// posenc — umbrella header: every public header except the Eigen and HF-config adapters.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_POSENC_HPP
#define POSENC_POSENC_HPP

#include "posenc/alibi.hpp"
#include "posenc/attention.hpp"
#include "posenc/bias_protocol.hpp"
#include "posenc/bipe.hpp"
#include "posenc/compose.hpp"
#include "posenc/config.hpp"
#include "posenc/contextual.hpp"
#include "posenc/cope.hpp"
#include "posenc/frequency.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/kernels/rotate.hpp"
#include "posenc/kernels/sincos.hpp"
#include "posenc/mrope.hpp"
#include "posenc/ntk_alibi.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/rotation.hpp"
#include "posenc/scaling.hpp"
#include "posenc/sinusoidal.hpp"
#include "posenc/storage.hpp"
#include "posenc/tuning.hpp"
#include "posenc/types.hpp"
#include "posenc/version.hpp"
#include "posenc/view.hpp"

#endif  // POSENC_POSENC_HPP
