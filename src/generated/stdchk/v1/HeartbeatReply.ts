// Original file: proto/manager.proto

import type { Command as _stdchk_v1_Command, Command__Output as _stdchk_v1_Command__Output } from '../../stdchk/v1/Command';

export interface HeartbeatReply {
  'commands'?: (_stdchk_v1_Command)[];
  'reregister'?: (boolean);
  'sendInventory'?: (boolean);
}

export interface HeartbeatReply__Output {
  'commands': (_stdchk_v1_Command__Output)[];
  'reregister': (boolean);
  'sendInventory': (boolean);
}
