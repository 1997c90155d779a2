// Systole: the vector unit and the DMA copy (Verilog-2005, synthesizable), store and forward.
//
// One VECTOR (MaxPool) or COPY (transpose) layer: the read channel brings the layer's input
// into the unit's buffer (DRAM_LATENCY + ceil(in / DRAM_BPC) cycles), the unit computes for
// ceil(elements / VEC_LANES) * VEC_MAXPOOL_CPO cycles (MaxPool; a copy computes nothing), then
// the write channel writes the output (DRAM_LATENCY + ceil(out / DRAM_BPC) cycles). Those three
// phases are what simulator/src/timeline.rs::store_and_forward counts. MaxPool is
// compiler/src/reference/int/vector.rs::maxpool (padding taps skipped, the format's minimum as
// the start); the copy is vector.rs::transpose, its addresses remapped on the write side.
// Geometry comes from the layer table (LT_*) of systole_params.vh.
module systole_vector (
    clk, rst, go, layer, elements, busy, fin, dr_addr, dr_data, dw_en, dw_addr, dw_data, err
);
    // Lint: the header's parameters serve every module, so most are unused here; clocked loops
    // use blocking temporaries (index arithmetic) on purpose; address temporaries are 32 bits
    // wide whatever the memory depth, and instruction words carry other opcodes' fields.
    /* verilator lint_off UNUSEDPARAM */
`include "systole_params.vh"
    /* verilator lint_on UNUSEDPARAM */
    /* verilator lint_off BLKSEQ */
    /* verilator lint_off UNUSEDSIGNAL */
    localparam BPC = (DRAM_BPC > 0) ? DRAM_BPC : 1;
    localparam L = DRAM_LATENCY;
    localparam LANES = (VEC_LANES > 0) ? VEC_LANES : 1;
    input  wire              clk;
    input  wire              rst;
    input  wire              go;        // start the layer at this edge
    input  wire [11:0]       layer;     // its layer (valid with go)
    input  wire [31:0]       elements;  // VECTOR's element count (0 for a copy)
    output reg               busy;
    output wire              fin;       // the layer ends at this edge
    output wire [BPC*32-1:0] dr_addr;
    input  wire [BPC*8-1:0]  dr_data;
    output wire [BPC-1:0]    dw_en;
    output wire [BPC*32-1:0] dw_addr;
    output wire [BPC*8-1:0]  dw_data;
    output reg               err;       // more outputs than the compute phase produces

    function [31:0] lt;
        input [NUM_LAYERS*32-1:0] tab;
        input [11:0] l;
        begin
            lt = (l < NUM_LAYERS) ? tab[l*32 +: 32] : 32'd0;
        end
    endfunction

    reg [11:0] lay;
    reg [31:0] el, n_in, n_out, nb_in, nb_out, t_in, t_busy, t_all;
    reg        is_pool;
    reg [7:0]  vbuf [0:VBUF_BYTES-1];
    reg [7:0]  vout [0:VBUF_BYTES-1];
    assign fin = busy && (el + 32'd1 == t_all);
    wire [31:0] now = el + 32'd1;  // the edge (from the start) this cycle ends with

    // Read phase: beat bi at now = L + bi.
    wire [31:0] rbi = now - L;
    wire        rbeat = busy && now >= L && rbi < nb_in;
    wire [31:0] in_base = lt(LT_IN_BASE, lay);
    genvar g;
    generate
        for (g = 0; g < BPC; g = g + 1) begin : g_rd
            wire [31:0] e = rbi * BPC + g;
            assign dr_addr[g*32 +: 32] = in_base + e;
        end
    endgenerate

    // Compute phase: cycle cc at now = t_in + 1 + cc, lane i makes output cc*LANES + i.
    wire [31:0] cc = now - t_in - 32'd1;
    wire        cbeat = busy && is_pool && now > t_in && cc < t_busy;
    wire [31:0] H = lt(LT_H, lay), W = lt(LT_W, lay);
    wire [31:0] KH = lt(LT_KH, lay), KW = lt(LT_KW, lay), SH = lt(LT_SH, lay);
    wire [31:0] SW = lt(LT_SW, lay), PH = lt(LT_PH, lay), PW = lt(LT_PW, lay);
    wire [31:0] DH = lt(LT_DH, lay), DW = lt(LT_DW, lay), OH = lt(LT_OH, lay);
    wire [31:0] OW = lt(LT_OW, lay), IN_LEN = lt(LT_IN_LEN, lay), OUT_LEN = lt(LT_OUT_LEN, lay);
    wire        sgn = lt(LT_A_SIGNED, lay) != 32'd0;
    wire [31:0] floor_ = lt(LT_FLOOR, lay);
    generate
        for (g = 0; g < LANES; g = g + 1) begin : g_pool
            wire [31:0] o = cc * LANES + g;
            wire        v = cbeat && o < n_out;
            wire [31:0] b = o / OUT_LEN, r0 = o % OUT_LEN;
            wire [31:0] ch = r0 / (OH * OW), r1 = r0 % (OH * OW);
            wire [31:0] oy = r1 / OW, ox = r1 % OW;
            reg  [31:0] m;
            integer ky, kx, iy, ix;
            reg  [31:0] xv;
            always @(posedge clk) begin
                if (v) begin
                    m = floor_;
                    for (ky = 0; ky < POOL_KMAX; ky = ky + 1) begin
                        for (kx = 0; kx < POOL_KMAX; kx = kx + 1) begin
                            iy = oy * SH - PH + ky * DH;
                            ix = ox * SW - PW + kx * DW;
                            if (ky < KH && kx < KW && iy >= 0 && iy < H && ix >= 0 && ix < W)
                            begin
                                xv = {24'd0, vbuf[b * IN_LEN + ch * H * W + iy * W + ix]};
                                if (sgn) xv = {{24{xv[7]}}, xv[7:0]};
                                if (sgn ? ($signed(xv) > $signed(m)) : (xv > m)) m = xv;
                            end
                        end
                    end
                    vout[o] <= m[7:0];
                end
            end
        end
    endgenerate

    // Write phase: beat bi at now = t_in + t_busy + L + bi; a copy reads its source element.
    wire [31:0] wbi = now - t_in - t_busy - L;
    wire        wbeat = busy && now >= t_in + t_busy + L && wbi < nb_out;
    wire [31:0] out_base = lt(LT_OUT_BASE, lay);
    wire [31:0] eb = lt(LT_IN_BYTES, lay);
    wire [31:0] D1 = lt(LT_TP_D1, lay), D2 = lt(LT_TP_D2, lay), D3 = lt(LT_TP_D3, lay);
    wire [31:0] S0 = lt(LT_TP_S0, lay), S1 = lt(LT_TP_S1, lay);
    wire [31:0] S2 = lt(LT_TP_S2, lay), S3 = lt(LT_TP_S3, lay);
    generate
        for (g = 0; g < BPC; g = g + 1) begin : g_wr
            wire [31:0] a = wbi * BPC + g;
            wire [31:0] e = a / eb, byt = a % eb;
            wire [31:0] b = e / OUT_LEN, r = e % OUT_LEN;
            wire [31:0] i3 = r % D3, q3 = r / D3;
            wire [31:0] i2 = q3 % D2, q2 = q3 / D2;
            wire [31:0] i1 = q2 % D1, i0 = q2 / D1;
            wire [31:0] src = b * IN_LEN + i0 * S0 + i1 * S1 + i2 * S2 + i3 * S3;
            assign dw_en[g] = wbeat && a < n_out;
            assign dw_addr[g*32 +: 32] = out_base + a;
            assign dw_data[g*8 +: 8] = is_pool ? vout[a] : vbuf[src * eb + byt];
        end
    endgenerate

    integer q;
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            el <= 32'd0;
            err <= 1'b0;
            lay <= 12'd0;
        end else begin
            for (q = 0; q < BPC; q = q + 1) begin
                if (rbeat && rbi * BPC + q < n_in) vbuf[rbi * BPC + q] <= dr_data[q*8 +: 8];
            end
            if (go) begin
                busy <= 1'b1;
                el <= 32'd0;
                lay <= layer;
                is_pool <= elements != 32'd0;
                n_in <= BATCH * lt(LT_IN_LEN, layer) * lt(LT_IN_BYTES, layer);
                n_out <= BATCH * lt(LT_OUT_LEN, layer) * lt(LT_OUT_BYTES, layer);
                nb_in <= (BATCH * lt(LT_IN_LEN, layer) * lt(LT_IN_BYTES, layer) + BPC - 1) / BPC;
                nb_out <= (BATCH * lt(LT_OUT_LEN, layer) * lt(LT_OUT_BYTES, layer) + BPC - 1)
                          / BPC;
                t_in <= L + (BATCH * lt(LT_IN_LEN, layer) * lt(LT_IN_BYTES, layer) + BPC - 1)
                        / BPC;
                t_busy <= ((elements + LANES - 1) / LANES) * VEC_MAXPOOL_CPO;
                t_all <= 2 * L +
                         (BATCH * lt(LT_IN_LEN, layer) * lt(LT_IN_BYTES, layer) + BPC - 1) / BPC +
                         ((elements + LANES - 1) / LANES) * VEC_MAXPOOL_CPO +
                         (BATCH * lt(LT_OUT_LEN, layer) * lt(LT_OUT_BYTES, layer) + BPC - 1)
                         / BPC;
                if (elements != 32'd0 &&
                    ((elements + LANES - 1) / LANES) * LANES <
                    BATCH * lt(LT_OUT_LEN, layer)) err <= 1'b1;
            end else if (fin) begin
                busy <= 1'b0;
            end else if (busy) begin
                el <= el + 32'd1;
            end
        end
    end
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_on BLKSEQ */
endmodule
