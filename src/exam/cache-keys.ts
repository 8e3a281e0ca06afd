/** The exam system's Redis keys. */
export const examCacheKeys = {
  /** GET /profile, cache-aside; PUT /profile deletes it. */
  profile: (userId: string) => `exam:profile:${userId}`,
};
