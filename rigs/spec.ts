/** The landscape every rig starts from: SID HA1, instance 00, sites A (hana-a) and B (hana-b). */
export const TWO_SITES = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
} as const;
