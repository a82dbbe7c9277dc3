/** The proxy side: stable proxy addresses per alias (listeners and sessions come later). */
export {
  AddressAllocator,
  AddressPoolFullError,
  allocatorPreparer,
  cryptoRandom,
  type AllocatorOptions,
  type AllocatorPreparer,
  type AssignedAddresses,
  type IpAllocator,
  type SavedAddresses,
} from './allocator.js';
