// Systole: testbench of the whole-program accelerator systole_top, for Icarus Verilog -g2005
// and for verilator --binary. Not synthesizable: the DRAM here is a behavioural byte array.
//
// Include path (-I): the BUILD_DIR (systole_params.vh) and the run directory, which holds
// systole_init.vh (the $readmemh lines of the ROMs, with their paths; define SYSTOLE_INIT).
// Run in a directory holding
//   dram_in.hex   the DRAM image, one hex byte per line (the host's quantized input already at
//                 the input tensor's T<i>_DRAM_BASE; systole_sim::rtl writes it)
// Writes
//   dram_out.hex  the DRAM image at the end of the program
//   report.txt    `LAYER i START s CYCLES c` per schedule layer, `TOTAL t`, or `ERROR ...`
// Plusargs: +MAXC=<cycles> (default 50000000) stops a run that does not finish.
//
// The DRAM's read lanes answer in the same cycle; its latency and bandwidth are the DMA
// channels' occupancy (DRAM_LATENCY cycles, then DRAM_BPC bytes per beat), which the engines in
// systole_top count. Cycle 0 is the edge that samples `start`; layer i ends at the edge after
// which `layers_done` exceeds i, and starts where layer i-1 ended.
module top_tb;
`include "systole_params.vh"
    localparam BPC = (DRAM_BPC > 0) ? DRAM_BPC : 1;

    reg clk = 1'b0;
    reg rst = 1'b1;
    reg start = 1'b0;
    wire ready, finished;
    wire [11:0] layers_done;
    wire [7:0] err;
    wire [BPC*32-1:0] dr_addr;
    wire [BPC*8-1:0] dr_data;
    wire [BPC-1:0] dw_en;
    wire [BPC*32-1:0] dw_addr;
    wire [BPC*8-1:0] dw_data;

    reg [7:0] dram [0:DRAM_BYTES-1];

    genvar g;
    generate
        for (g = 0; g < BPC; g = g + 1) begin : g_lane
            wire [31:0] a = dr_addr[g*32 +: 32];
            assign dr_data[g*8 +: 8] = (a < DRAM_BYTES) ? dram[a] : 8'd0;
        end
    endgenerate
    integer k;
    always @(posedge clk) begin
        for (k = 0; k < BPC; k = k + 1) begin
            if (dw_en[k] && dw_addr[k*32 +: 32] < DRAM_BYTES)
                dram[dw_addr[k*32 +: 32]] <= dw_data[k*8 +: 8];
        end
    end

    systole_top dut (
        .clk(clk), .rst(rst), .start(start), .ready(ready), .layers_done(layers_done),
        .finished(finished), .err(err),
        .dr_addr(dr_addr), .dr_data(dr_data), .dw_en(dw_en), .dw_addr(dw_addr), .dw_data(dw_data)
    );

    always #5 clk = ~clk;

    integer endc [0:NUM_LAYERS-1];
    integer cyc, maxc, prev, x, fd, st;
    initial begin
        if (!$value$plusargs("MAXC=%d", maxc)) maxc = 50000000;
        $readmemh("dram_in.hex", dram);
        repeat (3) @(negedge clk);
        rst = 1'b0;
        cyc = 0;
        while (!ready && cyc < 100000) begin
            @(negedge clk);
            cyc = cyc + 1;
        end
        start = 1'b1;
        @(posedge clk);  // cycle 0
        @(negedge clk);
        start = 1'b0;
        cyc = 0;
        prev = 0;
        while (!finished && err == 8'd0 && cyc < maxc) begin
            for (x = prev; x < layers_done; x = x + 1) endc[x] = cyc;
            prev = layers_done;
            @(negedge clk);
            cyc = cyc + 1;
        end
        for (x = prev; x < layers_done; x = x + 1) endc[x] = cyc;
        fd = $fopen("report.txt", "w");
        if (err != 8'd0) begin
            $fdisplay(fd, "ERROR code %0d at cycle %0d", err, cyc);
        end else if (!finished) begin
            $fdisplay(fd, "ERROR timeout after %0d cycles (layers done %0d)", cyc, layers_done);
        end else begin
            for (x = 0; x < NUM_LAYERS; x = x + 1) begin
                st = (x == 0) ? 0 : endc[x-1];
                $fdisplay(fd, "LAYER %0d START %0d CYCLES %0d", x, st, endc[x] - st);
            end
            $fdisplay(fd, "TOTAL %0d", endc[NUM_LAYERS-1]);
        end
        $fclose(fd);
        $writememh("dram_out.hex", dram);
        $finish;
    end
endmodule
