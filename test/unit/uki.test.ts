// The one UKI of the build and the bundle, made to boot either slot (agent/src/update/uki.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { peChecksum, peSection, peSections, ukiForSlot, ukiSlot } from "../../agent/src/update/uki.js";
import { fakeUki } from "./uki-fixture.js";

const CMDLINE = "root=PARTLABEL=gate64-root-a rauc.slot=a ro rootfstype=squashfs quiet console=ttyS0,115200";
const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("latin1");

describe("UKI for a slot", () => {
  const uki = fakeUki({ ".osrel": "ID=debian\n", ".cmdline": CMDLINE, ".linux": "kernel\x00\xff" });

  it("reads the sections and the slot the command line boots", () => {
    assert.deepEqual(
      peSections(uki).map((s) => s.name),
      [".osrel", ".cmdline", ".linux"],
    );
    assert.equal(text(peSection(uki, ".cmdline")), CMDLINE);
    assert.equal(ukiSlot(uki), "a");
  });

  it("rewrites both slot letters and the checksum, and no other byte", () => {
    const b = ukiForSlot(uki, "b");
    assert.equal(ukiSlot(b), "b");
    assert.equal(text(peSection(b, ".cmdline")), CMDLINE.replace("root-a", "root-b").replace("slot=a", "slot=b"));
    assert.equal(b.byteLength, uki.byteLength);
    const sum = 0x80 + 24 + 64;
    const changed = [...b.keys()].filter((i) => b[i] !== uki[i] && (i < sum || i >= sum + 4));
    assert.equal(changed.length, 2);
    assert.equal(new DataView(b.buffer).getUint32(sum, true), peChecksum(b));
    assert.notEqual(peChecksum(b), peChecksum(uki));
    const back = new Uint8Array(uki);
    new DataView(back.buffer).setUint32(sum, peChecksum(uki), true);
    assert.deepEqual(ukiForSlot(b, "a"), back, "back to slot a: the original bytes, its checksum made right");
  });

  it("leaves a checksum of 0 at 0 (a PE file that does not carry one)", () => {
    const b = ukiForSlot(fakeUki({ ".cmdline": CMDLINE }, 0), "b");
    assert.equal(new DataView(b.buffer).getUint32(0x80 + 24 + 64, true), 0);
  });

  it("refuses a UKI that does not name its slot exactly once in each place", () => {
    const refuse = (cmdline: string, why: RegExp) => assert.throws(() => ukiForSlot(fakeUki({ ".cmdline": cmdline }), "b"), why);
    refuse("root=PARTLABEL=gate64-root-a ro", /must name its slot once/);
    refuse("root=/dev/vda2 rauc.slot=a", /must name its slot once/);
    refuse("root=PARTLABEL=gate64-root-a rauc.slot=a rauc.slot=a", /must name its slot once/);
    refuse("root=PARTLABEL=gate64-root-a rauc.slot=b", /names two slots: root a, rauc.slot b/);
    refuse("root=PARTLABEL=gate64-root-ab rauc.slot=a", /must name its slot once/);
    assert.throws(() => ukiForSlot(fakeUki({ ".linux": "k" }), "b"), /no \.cmdline section/);
    assert.throws(() => ukiForSlot(new Uint8Array(Buffer.from("a stand-in for slot b's UKI")), "b"), /not a PE file/);
  });
});
