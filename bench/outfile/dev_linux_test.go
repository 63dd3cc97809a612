package outfile

// nullDev is device 1,3 in Linux's encoding (major<<8 | minor).
const nullDev = 1<<8 | 3
