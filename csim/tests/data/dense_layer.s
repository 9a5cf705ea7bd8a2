# A dense layer on the `tiny` config: y = sat8(requant(W x + b)), 8 inputs, 16 outputs. The
# weights (8 rows of 16 bytes) are at GWB 0 and the 16 coefficient rows at GWB 256, x at GIB 0;
# y is stored to GIB 64. Timing worked out by hand (cycle at which each instruction issues):
# 54 cycles. One program for csim's machine test, sw/runtime's device suite and the RTL bench.
.stream dma
  dma ld g=gwb:0 l=lwb:0 len=8 row_bytes=16 sig=s1   # 0: busy 2 + 8 = 10
  dma ld g=gwb:256 l=cb:0 len=16 sig=s2              # 10: busy 2 + ceil(192 / 12) = 18, done 28
  dma ld g=gib:0 l=lib:0 len=8 sig=s3                # 28: busy 2 + 1, done 31
  dma st g=gib:64 l=lib:32 len=16 wait=s4            # s4 arrives 50: busy 2 + 2, done 54
  halt                                               # 51
.stream mac
  wait s1                                            # 11
  mvm x=0 w=0 rows=8 bank=0 clr wait=s3 sig=s5       # 32: done 42
  halt
.stream ppu
  wait s2                                            # 29
  ppu n=16 a=acc:0 d=lib8:32 cb=0 rq=row sat1=s8 wait=s5 sig=s4   # 43: busy 4 + 2, done 49
  halt
